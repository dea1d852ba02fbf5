import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLAIMS } from '../../../configs/claims';
import { FIXTURE_COMMITS, FIXTURE_RUNS, FIXTURE_STALENESS } from './fixtures/runs.fixture';
import { parsePaperResults, readPaperResults } from './paper';
import { buildResultsTable, formatOurs, renderCsv, renderMarkdown, renderSvg } from './results-table';

const paper = readPaperResults(join(__dirname, '..', '..', '..', 'configs', 'paper-results.csv'));
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('paper numbers (configs/paper-results.csv)', () => {
  it('holds the README table', () => {
    const by = Object.fromEntries(paper.map((p) => [p.method, p]));
    expect(paper.map((p) => p.label)).toEqual(['MoCo', 'SimCLR', 'SimSiam', 'BYOL', 'VICReg', 'Barlow Twins', 'UniGrad', 'UniGrad + CutMix']);
    expect(by.simclr.top1).toEqual({ original: 62.7, 'grad-no-mm': 67.6, 'grad-mm': 70.0 });
    expect(by.unigrad.top1).toEqual({ original: undefined, 'grad-no-mm': undefined, 'grad-mm': 70.3 });
    expect(by.unigrad_cutmix.epochs).toBe(800);
  });

  it('names a bad cell', () => {
    expect(() => parsePaperResults('method,label,epochs,original,grad_no_mm,grad_mm,dataset,model\nx,X,100,abc,1,2,d,m\n')).toThrow(/'abc' in 'original'/);
  });
});

describe('results table from a fixture of runs', () => {
  // The golden files are rendered with the real pre-registered claims and the fixture's staleness check.
  const table = buildResultsTable(FIXTURE_RUNS, paper, { claims: CLAIMS, staleness: FIXTURE_STALENESS });

  it('computes each cell', () => {
    expect(table.presets.map((p) => p.preset)).toEqual(['fmnist', 'tiny']);
    const rows = Object.fromEntries(table.presets[0].rows.map((r) => [r.method, r]));
    const sm = rows.simclr.cells['grad-mm'];
    expect(sm.state).toBe('ok');
    expect(sm.seeds).toEqual(['1', '2', '3']);
    expect(sm.runIds).toEqual(['aaaa0001run', 'aaaa0003run', 'aaaa0004run']); // the newer seed-2 run replaced the older
    expect(sm.mean).toBeCloseTo(82, 10);
    expect(sm.std).toBeCloseTo(2, 10); // sample std of 80, 82, 84
    // 95% t-interval: t(0.975, df 2) = 4.302652729749462 (closed form), · 2 / √3 = 4.9682754235006605
    expect(sm.n).toBe(3);
    expect(sm.halfWidth).toBeCloseTo(4.9682754235006605, 6);
    expect(sm.ci![0]).toBeCloseTo(77.03172457649934, 6);
    expect(sm.values.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([80, 82, 84]);
    expect(sm.paper).toBe(70.0);
    expect(rows.simclr.cells.original.std).toBeUndefined();
    expect(rows.simclr.cells.original.halfWidth).toBeUndefined();
    expect(rows.simclr.cells.original.ci).toBeUndefined();
    expect(rows.byol.cells['grad-no-mm']).toMatchObject({ state: 'not run', unfinished: 1 });
    expect(rows.byol.cells['grad-no-mm'].mean).toBeUndefined();
    expect(rows.unigrad.cells.original.state).toBe('n/a');
    expect(rows.unigrad.cells['grad-mm']).toMatchObject({ state: 'ok', probes: ['knn-k20'], seeds: ['1', '2', '3'] });
    expect(rows.baseline_raw.cells.original.mean).toBeCloseTo(84, 10);
    expect(rows.baseline_raw.cells['grad-mm'].state).toBe('n/a');
    expect(rows.vicreg.cells['grad-mm'].state).toBe('not run');
  });

  it('records the commits of each cell and marks stale ones', () => {
    const rows = Object.fromEntries(table.presets[0].rows.map((r) => [r.method, r]));
    // SimCLR grad-mm: seed 1 at the old commit (changed since), seeds 2-3 at the current one; the replaced
    // seed-2 run does not count. Row, pretrain and probe runs all carry the tag.
    expect(rows.simclr.cells['grad-mm'].provenance).toEqual({
      commits: [FIXTURE_COMMITS.old, FIXTURE_COMMITS.current],
      untagged: 0,
      changed: [FIXTURE_COMMITS.old],
      unknown: [],
      stale: true,
    });
    expect(rows.simclr.cells.original.provenance).toMatchObject({ commits: [FIXTURE_COMMITS.current], stale: false });
    expect(rows.unigrad.cells['grad-mm'].provenance).toMatchObject({ unknown: [FIXTURE_COMMITS.foreign], changed: [], stale: true });
    expect(rows.baseline_raw.cells.original.provenance).toMatchObject({ commits: [], untagged: 3, stale: true });
    expect(formatOurs(rows.simclr.cells['grad-mm'])).toBe('82.00 ± 4.97 (n=3; 0f1e2d3, a1b2c3d)†');
    expect(formatOurs(rows.simclr.cells.original)).toBe('78.50 (n=1; a1b2c3d)');
    expect(formatOurs(rows.baseline_raw.cells.original)).toBe('84.00 (n=1; no commit tag)†');
    expect(rows.moco.cells.original.provenance.stale).toBeUndefined(); // not run: nothing to be stale

    const md = renderMarkdown(table);
    expect(md).toMatch(/- Code changed since: `0f1e2d3` \(SimCLR grad w\/ mm\)\./);
    expect(md).toMatch(/- Commit unknown to this repository, treated as stale: `deadbee` \(UniGrad grad w\/ mm\)\./);
    expect(md).toMatch(/- Run\(s\) without a commit tag, treated as stale: Baseline: raw pixels \(3 of its runs\)\./);
    const csv = renderCsv(table).split('\n');
    const head = csv[0].split(',');
    const simclr = csv.find((l) => l.startsWith('fmnist,simclr,'))!.split(',');
    expect(simclr[head.indexOf('grad_mm_stale')]).toBe('yes');
    expect(simclr[head.indexOf('grad_mm_commits')]).toBe(`${FIXTURE_COMMITS.old} ${FIXTURE_COMMITS.current}`);
    expect(simclr[head.indexOf('original_stale')]).toBe('no');
    expect(simclr[head.indexOf('grad_mm_ci_half')]).toBe('4.9683');
  });

  it('shows commits but marks nothing without a staleness check', () => {
    const plain = buildResultsTable(FIXTURE_RUNS, paper);
    const sm = plain.presets[0].rows.find((r) => r.method === 'simclr')!.cells['grad-mm'];
    expect(sm.provenance).toEqual({ commits: [FIXTURE_COMMITS.old, FIXTURE_COMMITS.current], untagged: 0, changed: [], unknown: [] });
    expect(formatOurs(sm)).toBe('82.00 ± 4.97 (n=3; 0f1e2d3, a1b2c3d)');
    const md = renderMarkdown(plain);
    expect(md).toMatch(/Staleness was not checked/);
    expect(md).not.toMatch(/†/);
    expect(md).not.toMatch(/### Claims/);
    expect(plain.presets[0].claims).toEqual([]);
  });

  it('keeps the lines the end-to-end reproduce test looks for', () => {
    const md = renderMarkdown(table);
    expect(md).toMatch(/\| UniGrad \|.*\| \d+\.\d+/);
    expect(md).toMatch(/Baseline: raw pixels \|.*\| \d+\.\d+/);
    expect(md).toMatch(/\| MoCo \|.*not run/);
  });

  it('renders the expected RESULTS.md, results.csv and results.svg', () => {
    expect(renderMarkdown(table)).toBe(fixture('RESULTS.expected.md'));
    expect(renderCsv(table)).toBe(fixture('results.expected.csv'));
    expect(renderSvg(table)).toBe(fixture('results.expected.svg'));
  });

  it('never prints a number for a cell that was not run', () => {
    const md = renderMarkdown(buildResultsTable([], paper, { presets: ['fmnist'], claims: CLAIMS, staleness: FIXTURE_STALENESS }));
    const lines = md.split('\n').filter((l) => l.startsWith('| MoCo |') || l.startsWith('| Baseline'));
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      const ours = l.split(' | ').filter((_, i) => i === 3 || i === 5 || i === 7);
      for (const cell of ours) expect(cell === 'not run' || cell === 'n/a').toBe(true);
    }
  });

  it('rejects accuracies logged as percentages', () => {
    const bad = FIXTURE_RUNS.map((r) => (r.id === 'dddd0001run' ? { ...r, metrics: { probe_top1: 86.1 } } : r));
    expect(() => buildResultsTable(bad, paper)).toThrow(/not a fraction in \[0, 1\]/);
  });
});
