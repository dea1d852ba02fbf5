import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLAIMS, PAPER_METHODS } from '../../../configs/claims';
import { evaluateClaim, formatClaimsText, renderClaimsMarkdown, verdictText, type Claim, type ClaimVerdict } from './claims';
import { FIXTURE_COMMITS, FIXTURE_STALENESS, cellRuns } from './fixtures/runs.fixture';
import { readPaperResults } from './paper';
import { buildResultsTable, type PresetTable } from './results-table';

const paper = readPaperResults(join(__dirname, '..', '..', '..', 'configs', 'paper-results.csv'));
const [EQUIVALENCE, MOMENTUM, NON_INFERIOR] = CLAIMS;

type Cells = Record<string, number[] | Record<string, number>>;
const add = (xs: number[], d: number[]) => xs.map((x, i) => x + d[i]);

// The reference seeds: UniGrad grad-mm at seeds 1, 2, 3. Seed-to-seed spread (80 → 84) is shared by every cell,
// as it is for runs with the same init, data order and augmentations; the paired differences see only the offsets.
const UNIGRAD = [80, 82, 84];

/** Every grad-mm cell = UniGrad + per-seed offsets; grad-no-mm = grad-mm − the momentum gain per seed. */
function scenario(offsets: Partial<Record<string, number[]>>, gains: Partial<Record<string, number[]>>, drop: string[] = []): Cells {
  const cells: Cells = { 'unigrad:grad-mm': UNIGRAD };
  for (const m of PAPER_METHODS) {
    const mm = add(UNIGRAD, offsets[m] ?? [0.1, 0.3, 0.2]);
    if (!drop.includes(`${m}:grad-mm`)) cells[`${m}:grad-mm`] = mm;
    cells[`${m}:grad-no-mm`] = add(mm, (gains[m] ?? [2, 2.2, 2.4]).map((g) => -g));
  }
  return cells;
}

function tableOf(cells: Cells, commit: string = FIXTURE_COMMITS.current): PresetTable {
  return buildResultsTable(cellRuns('p', cells, commit), paper, { claims: CLAIMS, staleness: FIXTURE_STALENESS }).presets[0];
}

function comparison(v: ClaimVerdict, method: string) {
  return v.comparisons.find((c) => c.a.method === method || (v.claim.rule.kind === 'non-inferiority-margin' && c.b.method === method))!;
}

describe('claim 1: gradient forms are equivalent (equivalence band ±1)', () => {
  it('supported when every paired interval lies inside [−1, +1]', () => {
    const v = tableOf(scenario({}, {})).claims[0];
    expect(v.claim.id).toBe('equivalence');
    expect(verdictText(v)).toBe('supported');
    // Offsets 0.1, 0.3, 0.2 -> mean 0.2, s 0.1, half-width 4.302652729749462 · 0.1 / √3 = 0.248413771175033
    const c = comparison(v, 'moco');
    expect(c.diff.n).toBe(3);
    expect(c.diff.mean).toBeCloseTo(0.2, 9);
    expect(c.diff.halfWidth).toBeCloseTo(0.248413771175033, 6);
    expect(c.diff.ci![1]).toBeCloseTo(0.448413771175033, 6);
    expect(c.outcome).toBe('for');
    expect(v.summary).toBe('6 of 6 inside [-1, +1], 0 entirely outside, 0 straddle the band, 0 with fewer than 2 paired seeds.');
  });

  it('flips to inconclusive when the seeds of one method disagree', () => {
    // Barlow Twins offsets 0.1, 2.5, −1.5: the same mean-ish gap, but s = 2.0133 and half-width 5.0013 ->
    // [−4.63, +5.37] straddles the band.
    const v = tableOf(scenario({ barlow_twins: [0.1, 2.5, -1.5] }, {})).claims[0];
    expect(verdictText(v)).toBe('inconclusive (CI too wide)');
    const c = comparison(v, 'barlow_twins');
    expect(c.outcome).toBe('open');
    expect(c.diff.mean).toBeCloseTo(0.3666666666666667, 9);
    expect(c.diff.halfWidth).toBeCloseTo(5.001287583500621, 5);
  });

  it('not supported when one interval lies entirely outside the band', () => {
    // SimCLR offsets −2, −2.1, −1.9: mean −2, interval [−2.248, −1.752].
    const v = tableOf(scenario({ simclr: [-2, -2.1, -1.9], vicreg: [0.1, 2.5, -1.5] }, {})).claims[0];
    expect(verdictText(v)).toBe('not supported'); // one outside decides, whatever the others do
    expect(comparison(v, 'simclr').diff.ci![1]).toBeCloseTo(-1.7515862288249668, 6);
  });

  it('inconclusive (not enough seeds) with a single seed per cell', () => {
    const one: Cells = Object.fromEntries(Object.entries(scenario({}, {})).map(([k, xs]) => [k, (xs as number[]).slice(0, 1)]));
    const v = tableOf(one).claims[0];
    expect(verdictText(v)).toBe('inconclusive (not enough seeds)');
    expect(v.comparisons.every((c) => c.outcome === 'too few seeds' && c.diff.n === 1)).toBe(true);
  });

  it('pairs by seed: seeds only one cell has do not count', () => {
    // UniGrad at seeds 1-3, MoCo at seeds 2, 3, 9 -> 2 pairs (seeds 2, 3).
    const cells = scenario({}, {});
    cells['moco:grad-mm'] = { '2': 82.3, '3': 84.2, '9': 10 };
    const c = comparison(tableOf(cells).claims[0], 'moco');
    expect(c.diff.seeds).toEqual(['2', '3']);
    expect(c.diff.mean).toBeCloseTo(0.25, 9);
  });
});

describe('claim 2: the momentum encoder is the key factor (≥ 5 of 6 positive)', () => {
  it('supported with 5 intervals above 0 even though one method loses', () => {
    // Gains 2, 2.2, 2.4 -> mean 2.2, interval [1.703, 2.697]; VICReg −1, −1.2, −0.8 -> entirely below 0.
    const v = tableOf(scenario({}, { vicreg: [-1, -1.2, -0.8] })).claims[1];
    expect(v.claim.id).toBe('momentum-encoder');
    expect(verdictText(v)).toBe('supported');
    expect(comparison(v, 'moco').diff.ci![0]).toBeCloseTo(1.7031724576499339, 6);
    expect(v.comparisons.map((c) => c.outcome)).toEqual(['for', 'for', 'for', 'for', 'against', 'for']);
  });

  it('flips to inconclusive when one positive method has disagreeing seeds', () => {
    // SimSiam gains 2, −3, 5: mean 1.33, interval [−8.71, +11.37] straddles 0 -> 4 for, 1 open, 1 against.
    const v = tableOf(scenario({}, { vicreg: [-1, -1.2, -0.8], simsiam: [2, -3, 5] })).claims[1];
    expect(verdictText(v)).toBe('inconclusive (CI too wide)');
    expect(comparison(v, 'simsiam').diff.halfWidth).toBeCloseTo(10.039523036082079, 5);
  });

  it('not supported once two methods are at or below 0 (5 can no longer be reached)', () => {
    // VICReg loses; Barlow Twins gains exactly 0 on every seed: the interval [0, 0] is "at or below 0".
    const v = tableOf(scenario({}, { vicreg: [-1, -1.2, -0.8], barlow_twins: [0, 0, 0], simsiam: [2, -3, 5] })).claims[1];
    expect(comparison(v, 'barlow_twins').outcome).toBe('against');
    expect(verdictText(v)).toBe('not supported');
  });
});

describe('counted once: SimSiam and BYOL grad forms are one algorithm (DirectPred)', () => {
  // DirectPred's gains straddle 0 (the same per seed in both rows, as bit-identical runs give); the other four gain.
  const directPred = (gains: number[]) => scenario({}, { simsiam: gains, byol: gains });

  it('claim 2 keeps its one allowed exception: 4 of the 5 distinct forms above 0 is supported', () => {
    const v = tableOf(directPred([-1, 1.5, 0.5])).claims[1];
    expect(verdictText(v)).toBe('inconclusive (CI too wide)'); // registered: 4 of 6 above 0, 5 needed
    expect(v.countedOnce).toMatchObject({ confirmed: true, verdict: 'supported', dropped: ['BYOL: grad w/ mm − grad w/o mm'] });
    expect(v.countedOnce!.summary).toBe('4 of 5 entirely above 0 (4 needed), 0 entirely at or below, 1 straddle 0, 0 with fewer than 2 paired seeds.');
  });

  it('claim 2: one DirectPred interval below 0 counts once against, not twice', () => {
    const v = tableOf(directPred([-2, -2.2, -2.4])).claims[1];
    expect(verdictText(v)).toBe('not supported'); // registered: 2 of 6 at or below 0
    expect(v.countedOnce).toMatchObject({ confirmed: true, verdict: 'supported' }); // 4 of 5 above, 1 exception
    const two = tableOf(scenario({}, { simsiam: [-2, -2.2, -2.4], byol: [-2, -2.2, -2.4], vicreg: [-1, -1.2, -0.8] })).claims[1];
    expect(two.countedOnce).toMatchObject({ verdict: 'not supported' }); // 2 of the 5 at or below 0
  });

  it('claims 1 and 3 cannot change: every comparison must pass, and the best competitor is taken once either way', () => {
    for (const cells of [scenario({}, {}), scenario({ barlow_twins: [0.1, 2.5, -1.5] }, {}), scenario({ simsiam: [1.5, 2, 2.5], byol: [1.5, 2, 2.5] }, {})]) {
      const [equivalence, , nonInferior] = tableOf(cells).claims;
      for (const v of [equivalence, nonInferior]) {
        expect(v.countedOnce!.confirmed).toBe(true);
        expect([v.countedOnce!.verdict, v.countedOnce!.qualifier]).toEqual([v.verdict, v.qualifier]);
      }
    }
  });

  it('is withheld when the data do not show the grouped cells equal', () => {
    const cells = directPred([-1, 1.5, 0.5]);
    cells['byol:grad-mm'] = add(UNIGRAD, [0.1, 0.3, 0.25]);
    const t = tableOf(cells);
    expect(t.claims[1].countedOnce).toMatchObject({ confirmed: false, mismatch: 'DirectPred: SimSiam grad w/ mm and BYOL grad w/ mm differ at seed 3' });
    expect(t.claims[1].countedOnce!.verdict).toBeUndefined();
    expect(renderClaimsMarkdown(t.claims, 'p').join('\n')).toMatch(/Counted once \(.*\): not given, the data do not show the cells equal \(DirectPred: SimSiam grad w\/ mm and BYOL grad w\/ mm differ at seed 3\)/);
  });

  it('is withheld when the grouped cells ran different seeds, though equal where they overlap', () => {
    // SimSiam (the group's stand-in) has seed 3, BYOL does not: counted once, SimSiam would pair a seed BYOL never ran.
    const cells = directPred([-1, 1.5, 0.5]);
    const byol = cells['byol:grad-mm'] as number[];
    cells['byol:grad-mm'] = { '1': byol[0], '2': byol[1] };
    const v = tableOf(cells).claims[0];
    expect(v.countedOnce).toMatchObject({ confirmed: false, mismatch: 'DirectPred: SimSiam grad w/ mm and BYOL grad w/ mm have different seeds (3 in only one)' });
    expect(v.countedOnce!.verdict).toBeUndefined();
    // And the other way round, with seeds that sort differently as text and as numbers.
    const more = directPred([-1, 1.5, 0.5]);
    more['byol:grad-mm'] = { ...Object.fromEntries((more['byol:grad-mm'] as number[]).map((x, i) => [String(i + 1), x])), '10': 81, '9': 80 };
    expect(tableOf(more).claims[0].countedOnce).toMatchObject({ confirmed: false, mismatch: 'DirectPred: SimSiam grad w/ mm and BYOL grad w/ mm have different seeds (9, 10 in only one)' });
  });

  it('prints the counted-once verdict under the registered one', () => {
    const t = tableOf(directPred([-1, 1.5, 0.5]));
    const md = renderClaimsMarkdown(t.claims, 'p').join('\n');
    expect(md).toMatch(/\*Counted once \(DirectPred \(SimSiam grad w\/ mm = BYOL grad w\/ mm\), DirectPred w\/o mm \(SimSiam grad w\/o mm = BYOL grad w\/o mm\)[^*]*\): supported\. 4 of 5 entirely above 0/);
    expect(formatClaimsText(t.claims, 'p').join('\n')).toMatch(/Counted once .*: supported\. 4 of 5/);
  });
});

describe('claim 3: UniGrad is at least as good (non-inferiority margin −0.5 vs the best other)', () => {
  it('supported when UniGrad − the best other stays above −0.5', () => {
    // SimCLR is best by mean (UniGrad + 0.3 on every seed; the others + 0.2): difference −0.3 with no spread.
    const v = tableOf(scenario({ simclr: [0.3, 0.3, 0.3] }, {})).claims[2];
    expect(v.claim.id).toBe('unigrad-non-inferior');
    expect(v.comparisons).toHaveLength(1);
    expect(v.comparisons[0].b.method).toBe('simclr');
    expect(v.comparisons[0].diff.mean).toBeCloseTo(-0.3, 9);
    expect(verdictText(v)).toBe('supported');
  });

  it('not supported when the whole interval lies below −0.5', () => {
    // Best other = SimCLR at UniGrad + 2, 2.1, 1.9: difference mean −2, interval [−2.248, −1.752].
    const v = tableOf(scenario({ simclr: [2, 2.1, 1.9] }, {})).claims[2];
    expect(v.comparisons[0].diff.ci![0]).toBeCloseTo(-2.2484137711750334, 6);
    expect(verdictText(v)).toBe('not supported');
  });

  it('inconclusive when the interval straddles −0.5 (seeds disagree)', () => {
    const v = tableOf(scenario({ simclr: [0.3, 2.5, -1.2] }, {})).claims[2];
    expect(v.comparisons[0].b.method).toBe('simclr'); // mean +0.53, the best
    expect(verdictText(v)).toBe('inconclusive (CI too wide)');
  });

  it('holds "supported" back while a competitor has no result', () => {
    const v = tableOf(scenario({ simclr: [0.3, 0.3, 0.3] }, {}, ['vicreg:grad-mm'])).claims[2];
    expect(verdictText(v)).toBe('inconclusive (not enough seeds)');
    expect(v.summary).toMatch(/1 of 6 competitors have no result: VICReg\./);
  });
});

describe('claims output', () => {
  it('names stale cells a verdict rests on', () => {
    const all = tableOf(scenario({}, {}), FIXTURE_COMMITS.old).claims[0];
    expect(all.usedCells).toHaveLength(7);
    expect(all.staleCells).toHaveLength(7);
    expect(renderClaimsMarkdown([all], 'p').join('\n')).toMatch(/Rests only on stale cells \(†\): all 7 cells it pairs\./);
    // Only UniGrad ran at a commit whose code changed since.
    const { 'unigrad:grad-mm': unigrad, ...rest } = scenario({}, {});
    const runs = [...cellRuns('p', rest), ...cellRuns('p', { 'unigrad:grad-mm': unigrad }, FIXTURE_COMMITS.old)];
    const one = buildResultsTable(runs, paper, { claims: CLAIMS, staleness: FIXTURE_STALENESS }).presets[0].claims[0];
    expect(one.staleCells).toEqual(['UniGrad grad w/ mm']);
    expect(renderClaimsMarkdown([one], 'p').join('\n')).toMatch(/Uses stale cells \(†\): UniGrad grad w\/ mm\./);
    expect(formatClaimsText([one], 'p').join('\n')).toMatch(/Uses stale cells \(†\): UniGrad grad w\/ mm\./);
  });

  it('prints a Markdown section and terminal lines with the numbers', () => {
    const t = tableOf(scenario({ barlow_twins: [0.1, 2.5, -1.5] }, {}));
    const md = renderClaimsMarkdown(t.claims, 'p').join('\n');
    expect(md).toMatch(/### Claims \(preset p\)/);
    expect(md).toMatch(/\*\*Claim 1: gradient forms are equivalent: inconclusive \(CI too wide\)\.\*\*/);
    expect(md).toMatch(/\| MoCo − UniGrad \(grad w\/ mm\) \| 3 \| \+0\.20 \| \[-0\.05, \+0\.45\] \| inside the band \|/);
    expect(md).toMatch(/\| Barlow Twins − UniGrad \(grad w\/ mm\) \| 3 \| \+0\.37 \| \[-4\.63, \+5\.37\] \| straddles the band \|/);
    const text = formatClaimsText(t.claims, 'p').join('\n');
    expect(text).toMatch(/1\. gradient forms are equivalent: INCONCLUSIVE \(CI TOO WIDE\)/);
    expect(text).toMatch(/Barlow Twins − UniGrad \(grad w\/ mm\): mean \+0\.37, CI \[-4\.63, \+5\.37\], n=3 pairs -> straddles the band/);
  });

  it('rejects malformed rules and unknown rows', () => {
    const t = tableOf(scenario({}, {}));
    const bad = (rule: Claim['rule'], extra: Partial<Claim> = {}): Claim => ({ id: 'x', title: 'x', test: 'x', rule, ...extra });
    const ref = { method: 'unigrad', column: 'grad-mm' } as const;
    expect(() => evaluateClaim(t, bad({ kind: 'equivalence-band', reference: ref, cells: [ref], band: [1, -1] }))).toThrow(/empty/);
    expect(() => evaluateClaim(t, bad({ kind: 'count-of-positive-differences', comparisons: [], atLeast: 1, threshold: 0 }))).toThrow(/atLeast/);
    expect(() => evaluateClaim(t, bad({ kind: 'equivalence-band', reference: { method: 'nope', column: 'grad-mm' }, cells: [ref], band: [-1, 1] }))).toThrow(/no table row 'nope'/);
    expect(() => evaluateClaim(t, bad({ kind: 'equivalence-band', reference: ref, cells: [ref], band: [-1, 1] }, { minPairs: 1 }))).toThrow(/minPairs/);
  });

  it('the pre-registered claims are the three of issue 13', () => {
    expect(CLAIMS.map((c) => c.id)).toEqual(['equivalence', 'momentum-encoder', 'unigrad-non-inferior']);
    expect(EQUIVALENCE.rule).toMatchObject({ kind: 'equivalence-band', band: [-1, 1], reference: { method: 'unigrad', column: 'grad-mm' } });
    expect(MOMENTUM.rule).toMatchObject({ kind: 'count-of-positive-differences', atLeast: 5, threshold: 0 });
    expect(NON_INFERIOR.rule).toMatchObject({ kind: 'non-inferiority-margin', margin: -0.5 });
    expect(PAPER_METHODS).toEqual(['moco', 'simclr', 'simsiam', 'byol', 'vicreg', 'barlow_twins']);
  });
});
