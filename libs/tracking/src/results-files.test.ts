import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLAIMS } from '../../../configs/claims';
import { FIXTURE_RUNS, FIXTURE_STALENESS } from './fixtures/runs.fixture';
import { readPaperResults } from './paper';
import { readPresetNotes, writeResults } from './results-files';
import { buildResultsTable, renderCsv, renderMarkdown } from './results-table';

const paper = readPaperResults(join(__dirname, '..', '..', '..', 'configs', 'paper-results.csv'));
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'results-files-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('writeResults', () => {
  it('writes RESULTS.md, results.csv and results.svg with claims, provenance and notes', () => {
    const out = tmp();
    const r = writeResults({ runs: FIXTURE_RUNS, out, claims: CLAIMS, staleness: FIXTURE_STALENESS, notes: { fmnist: '## Reading\n\nhand-written\n' }, appendix: [], sourceLabel: 'a fixture', paper });
    expect(readdirSync(out).sort()).toEqual(['RESULTS.md', 'results.csv', 'results.svg']);
    expect(r.files).toEqual(['RESULTS.md', 'results.csv', 'results.svg'].map((f) => join(out, f)));
    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    const table = buildResultsTable(FIXTURE_RUNS, paper, { claims: CLAIMS, staleness: FIXTURE_STALENESS });
    expect(md).toBe(renderMarkdown(table, { note: `Source: a fixture, ${FIXTURE_RUNS.length} run(s).`, presetNotes: { fmnist: '## Reading\n\nhand-written\n' } }));
    // The preset's notes come after its claims and before the next preset.
    expect(md.indexOf('hand-written')).toBeGreaterThan(md.indexOf('### Claims (preset fmnist)'));
    expect(md.indexOf('hand-written')).toBeLessThan(md.indexOf('## Preset: tiny'));
    expect(readFileSync(join(out, 'results.csv'), 'utf8')).toBe(renderCsv(table));
    expect(r.summary).toBe(`${FIXTURE_RUNS.length} run(s) from a fixture -> 5 filled cell(s), 3 stale in 2 preset(s); wrote RESULTS.md, results.csv, results.svg in ${out}`);
    expect(r.claimsText[0]).toBe('claims (preset fmnist):');
    expect(r.claimsText.join('\n')).toMatch(/1\. gradient forms are equivalent: NOT SUPPORTED/);
    expect(r.warnings).toEqual([]);
  });

  it('checks staleness with git by default, and not at all when told so', () => {
    const checked = writeResults({ runs: FIXTURE_RUNS, out: tmp(), paper, notes: {} });
    expect(checked.table.stalenessChecked).toBe(true); // this workspace is a git repository
    // The fixture's commits are not in this repository: unknown, so stale.
    const unigrad = checked.table.presets[0].rows.find((r) => r.method === 'unigrad')!.cells['grad-mm'];
    expect(unigrad.provenance.stale).toBe(true);
    const unchecked = writeResults({ runs: FIXTURE_RUNS, out: tmp(), paper, notes: {}, staleness: false });
    expect(unchecked.table.stalenessChecked).toBe(false);
    expect(unchecked.summary).toMatch(/staleness not checked/);
    expect(unchecked.claimsText).toEqual([]);
  });

  it('writes nothing when the table cannot be built', () => {
    const out = tmp();
    const bad = FIXTURE_RUNS.map((r) => (r.id === 'dddd0001run' ? { ...r, metrics: { probe_top1: 86.1 } } : r));
    expect(() => writeResults({ runs: bad, out, paper, staleness: false, notes: {} })).toThrow(/not a fraction/);
    expect(existsSync(join(out, 'RESULTS.md'))).toBe(false);
  });
});

describe('readPresetNotes', () => {
  it('reads <preset>.md where it exists', () => {
    const dir = tmp();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'fmnist.md'), 'notes\n');
    expect(readPresetNotes(['fmnist', 'tiny'], dir)).toEqual({ fmnist: 'notes\n' });
  });
});

describe('the appendix of RESULTS.md', () => {
  it('appends the given sections after every preset, in order', () => {
    const out = tmp();
    writeResults({ runs: FIXTURE_RUNS, out, staleness: false, notes: {}, appendix: ['## First\n\none', '## Second\n'], paper: readPaperResults() });
    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    expect(md.indexOf('## First')).toBeGreaterThan(md.lastIndexOf('| Baseline'));
    expect(md.indexOf('## Second')).toBeGreaterThan(md.indexOf('## First'));
  });
});
