import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_RUNS } from './fixtures/runs.fixture';
import { parsePaperResults, readPaperResults } from './paper';
import { buildResultsTable, renderCsv, renderMarkdown, renderSvg } from './results-table';

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
  const table = buildResultsTable(FIXTURE_RUNS, paper);

  it('computes each cell', () => {
    expect(table.presets.map((p) => p.preset)).toEqual(['fmnist', 'tiny']);
    const rows = Object.fromEntries(table.presets[0].rows.map((r) => [r.method, r]));
    const sm = rows.simclr.cells['grad-mm'];
    expect(sm.state).toBe('ok');
    expect(sm.seeds).toEqual(['1', '2', '3']);
    expect(sm.runIds).toEqual(['aaaa0001run', 'aaaa0003run', 'aaaa0004run']); // the newer seed-2 run replaced the older
    expect(sm.mean).toBeCloseTo(82, 10);
    expect(sm.std).toBeCloseTo(2, 10); // sample std of 80, 82, 84
    expect(sm.paper).toBe(70.0);
    expect(rows.simclr.cells.original.std).toBeUndefined();
    expect(rows.byol.cells['grad-no-mm']).toMatchObject({ state: 'not run', unfinished: 1 });
    expect(rows.byol.cells['grad-no-mm'].mean).toBeUndefined();
    expect(rows.unigrad.cells.original.state).toBe('n/a');
    expect(rows.unigrad.cells['grad-mm']).toMatchObject({ state: 'ok', probes: ['knn-k20'] });
    expect(rows.baseline_raw.cells.original.mean).toBeCloseTo(84, 10);
    expect(rows.baseline_raw.cells['grad-mm'].state).toBe('n/a');
    expect(rows.vicreg.cells['grad-mm'].state).toBe('not run');
  });

  it('renders the expected RESULTS.md, results.csv and results.svg', () => {
    expect(renderMarkdown(table)).toBe(fixture('RESULTS.expected.md'));
    expect(renderCsv(table)).toBe(fixture('results.expected.csv'));
    expect(renderSvg(table)).toBe(fixture('results.expected.svg'));
  });

  it('never prints a number for a cell that was not run', () => {
    const md = renderMarkdown(buildResultsTable([], paper, { presets: ['fmnist'] }));
    const lines = md.split('\n').filter((l) => l.startsWith('| MoCo') || l.startsWith('| Baseline'));
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
