// Pre-registered claims about the results table and their verdicts. A claim is data (see configs/claims.ts):
// a generic rule over table cells, evaluated with paired comparisons over seeds. Pure functions, no I/O.
import type { Column } from './paper';
import type { CellResult, PresetTable } from './results-table';
import { CONFIDENCE_LEVEL, pairedDifference, type PairedDifference } from './stats';

/** One table cell: a row (its `unigrad.method` tag) and a column. Baselines sit in the 'original' column. */
export interface CellRef {
  method: string;
  column: Column;
}

/** The comparison a − b (paired over the seeds both cells have). `label` defaults to a name built from the cells. */
export interface CellComparison {
  a: CellRef;
  b: CellRef;
  label?: string;
}

/**
 * The rule kinds. Each comparison is the paired difference of two cells over their shared seeds, with its
 * two-sided t-interval at the claim's level; a comparison with fewer than `minPairs` pairs decides nothing.
 */
export type ClaimRule =
  | {
      /**
       * Equivalence band: for every cell c of `cells`, the interval of c − reference must lie inside
       * [band[0], band[1]] ("inside" → for the claim; entirely outside the band → against; else open).
       * Verdict: all inside → supported; any against → not supported; else inconclusive.
       */
      kind: 'equivalence-band';
      reference: CellRef;
      cells: CellRef[];
      band: [number, number];
    }
  | {
      /**
       * Count of positive differences: a comparison is for the claim when its interval lies entirely above
       * `threshold`, against it when it lies entirely at or below it, else open.
       * Verdict: at least `atLeast` for → supported; so many against that `atLeast` can no longer be reached
       * (against > comparisons − atLeast) → not supported; else inconclusive.
       */
      kind: 'count-of-positive-differences';
      comparisons: CellComparison[];
      atLeast: number;
      threshold: number;
    }
  | {
      /**
       * Non-inferiority margin: subject − best competitor (the competitor with the highest mean over its seeds
       * among those with a result) must be ≥ `margin`. Lower bound of the interval ≥ margin → supported; upper
       * bound < margin → not supported; else inconclusive. While some competitor has no result the best one is
       * unknown, so "supported" is held back as inconclusive (not enough seeds); "not supported" stands, since a
       * missing competitor could only raise the best.
       */
      kind: 'non-inferiority-margin';
      subject: CellRef;
      competitors: CellRef[];
      margin: number;
    };

export type ClaimRuleKind = ClaimRule['kind'];

/**
 * Cells that run one algorithm under two row names (e.g. SimSiam's and BYOL's gradient forms, both DirectPred).
 * A claim that lists them gets a second verdict with each group counted once (see `countedOnce`).
 */
export interface SameAlgorithm {
  /** What the group is, e.g. 'DirectPred'. */
  name: string;
  cells: CellRef[];
}

export interface Claim {
  /** Short stable id, e.g. 'equivalence'. */
  id: string;
  /** The paper's claim, in a few words. */
  title: string;
  /** The pre-registered test in words, printed under the verdict. */
  test: string;
  rule: ClaimRule;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** Fewest paired seeds for a comparison to decide anything (default 2, the fewest that give an interval). */
  minPairs?: number;
  /**
   * Groups of cells that are one algorithm. The verdict is then also given with each group counted once: a
   * comparison (or cell) that repeats an earlier one up to the groups is dropped, and a count rule keeps the number
   * of exceptions it allowed (atLeast falls by the number dropped). That reading is given only when the grouped
   * cells ran the same seeds and their per-seed values are equal at each, so the data confirm the identity (and the
   * group's first cell, which stands for it, pairs exactly the seeds the others would).
   */
  sameAlgorithm?: SameAlgorithm[];
}

export type Verdict = 'supported' | 'not supported' | 'inconclusive';

/** 'for' / 'against' the claim, 'open' = the interval straddles the bound, 'too few seeds' = fewer than minPairs pairs. */
export type ComparisonOutcome = 'for' | 'against' | 'open' | 'too few seeds';

export interface ComparisonResult {
  label: string;
  a: CellRef;
  b: CellRef;
  diff: PairedDifference;
  outcome: ComparisonOutcome;
}

export interface ClaimVerdict {
  claim: Claim;
  verdict: Verdict;
  /** Why an inconclusive verdict is inconclusive: 'not enough seeds', 'CI too wide', or both. */
  qualifier?: string;
  /** One sentence with the counts behind the verdict. */
  summary: string;
  comparisons: ComparisonResult[];
  /** Cells the comparisons paired (at least one shared seed), as labels. */
  usedCells: string[];
  /** Of those, the ones marked stale (their code changed since, or unknown). */
  staleCells: string[];
  /** The verdict with each `sameAlgorithm` group counted once (absent when the claim declares no group). */
  countedOnce?: CountedOnce;
}

export interface CountedOnce {
  /** The groups, as "DirectPred (SimSiam grad w/ mm = BYOL grad w/ mm, …)". */
  groups: string;
  /** Whether every group's cells ran the same (non-empty) set of seeds and have equal per-seed values at each. */
  confirmed: boolean;
  /** Why not confirmed: the first group whose cells have no result, different seeds, or a seed where their values differ. */
  mismatch?: string;
  /** Labels of the comparisons dropped as repeats. */
  dropped: string[];
  /** Present when confirmed. */
  verdict?: Verdict;
  qualifier?: string;
  summary?: string;
}

const COLUMN_SHORT: Record<Column, string> = { original: 'original', 'grad-no-mm': 'grad w/o mm', 'grad-mm': 'grad w/ mm' };

function rowLabel(table: PresetTable, method: string): string {
  return table.rows.find((r) => r.method === method)?.label ?? method;
}

function defaultLabel(table: PresetTable, a: CellRef, b: CellRef): string {
  if (a.column === b.column) return `${rowLabel(table, a.method)} − ${rowLabel(table, b.method)} (${COLUMN_SHORT[a.column]})`;
  if (a.method === b.method) return `${rowLabel(table, a.method)}: ${COLUMN_SHORT[a.column]} − ${COLUMN_SHORT[b.column]}`;
  return `${rowLabel(table, a.method)} ${COLUMN_SHORT[a.column]} − ${rowLabel(table, b.method)} ${COLUMN_SHORT[b.column]}`;
}

function cellOf(table: PresetTable, ref: CellRef): CellResult {
  const row = table.rows.find((r) => r.method === ref.method);
  if (!row) throw new Error(`claims: no table row '${ref.method}' (rows: ${table.rows.map((r) => r.method).join(', ')}).`);
  return row.cells[ref.column];
}

/** Per-seed top-1 (%) of a cell, for pairing. */
export function seedValues(cell: CellResult): Map<string, number> {
  return new Map(cell.seeds.map((s, i) => [s, cell.values[i]]));
}

function compare(table: PresetTable, c: CellComparison, level: number, minPairs: number, judge: (ci: [number, number]) => ComparisonOutcome): ComparisonResult {
  const diff = pairedDifference(seedValues(cellOf(table, c.a)), seedValues(cellOf(table, c.b)), level);
  const outcome = diff.n < minPairs || !diff.ci ? 'too few seeds' : judge(diff.ci);
  return { label: c.label ?? defaultLabel(table, c.a, c.b), a: c.a, b: c.b, diff, outcome };
}

function count(results: ComparisonResult[]): Record<ComparisonOutcome, number> {
  const n: Record<ComparisonOutcome, number> = { for: 0, against: 0, open: 0, 'too few seeds': 0 };
  for (const r of results) n[r.outcome]++;
  return n;
}

/** The qualifier of an inconclusive verdict, from the comparisons that left it open. */
function qualifier(results: ComparisonResult[]): string {
  const n = count(results);
  const parts: string[] = [];
  if (n.open > 0) parts.push('CI too wide');
  if (n['too few seeds'] > 0) parts.push('not enough seeds');
  return parts.join('; ') || 'not enough seeds';
}

function fmtBound(v: number): string {
  return `${v > 0 ? '+' : ''}${v}`;
}

function cellLabel(table: PresetTable, ref: CellRef): string {
  return `${rowLabel(table, ref.method)} ${COLUMN_SHORT[ref.column]}`;
}

/** Evaluates one claim on one preset's table. */
export function evaluateClaim(table: PresetTable, claim: Claim): ClaimVerdict {
  const v = judge(table, claim);
  const used = v.comparisons.filter((c) => c.diff.n > 0).flatMap((c) => [c.a, c.b]);
  const usedCells = [...new Set(used.map((r) => cellLabel(table, r)))];
  const staleCells = [...new Set(used.filter((r) => cellOf(table, r).provenance.stale).map((r) => cellLabel(table, r)))];
  const countedOnce = claim.sameAlgorithm?.length ? judgeCountedOnce(table, claim, claim.sameAlgorithm) : undefined;
  return { ...v, usedCells, staleCells, ...(countedOnce ? { countedOnce } : {}) };
}

const sameRef = (x: CellRef, y: CellRef) => x.method === y.method && x.column === y.column;

/** The claim with each group of `groups` counted once, judged; withheld unless the data show the groups' cells equal. */
function judgeCountedOnce(table: PresetTable, claim: Claim, groups: SameAlgorithm[]): CountedOnce {
  const groupText = groups.map((g) => `${g.name} (${g.cells.map((c) => cellLabel(table, c)).join(' = ')})`).join(', ');
  let mismatch: string | undefined;
  for (const g of groups) {
    const [first, ...rest] = g.cells.map((c) => seedValues(cellOf(table, c)));
    for (const [i, other] of rest.entries()) {
      const pair = `${cellLabel(table, g.cells[0])} and ${cellLabel(table, g.cells[i + 1])}`;
      // The same seeds, or the group's first cell (which stands for the group) would pair different seeds than the rest.
      const unshared = [...[...first.keys()].filter((seed) => !other.has(seed)), ...[...other.keys()].filter((seed) => !first.has(seed))];
      const differs = [...first.keys()].find((seed) => other.has(seed) && first.get(seed) !== other.get(seed));
      if (first.size === 0 && other.size === 0) mismatch ??= `${g.name}: ${pair} have no result`;
      else if (unshared.length > 0) mismatch ??= `${g.name}: ${pair} have different seeds (${unshared.sort((x, y) => Number(x) - Number(y)).join(', ')} in only one)`;
      else if (differs !== undefined) mismatch ??= `${g.name}: ${pair} differ at seed ${differs}`;
    }
  }
  // A cell's representative: the first cell of its group, or itself.
  const rep = (ref: CellRef): CellRef => groups.find((g) => g.cells.some((c) => sameRef(c, ref)))?.cells[0] ?? ref;
  const dropped: string[] = [];
  const once = <T>(items: T[], key: (item: T) => CellRef[], label: (item: T) => string): T[] => {
    const kept: T[] = [];
    for (const item of items) {
      const k = key(item).map(rep);
      if (kept.some((prev) => key(prev).map(rep).every((r, i) => sameRef(r, k[i])))) dropped.push(label(item));
      else kept.push(item);
    }
    return kept;
  };
  const rule = claim.rule;
  let onceRule: ClaimRule;
  if (rule.kind === 'equivalence-band') {
    onceRule = { ...rule, cells: once(rule.cells, (c) => [c], (c) => defaultLabel(table, c, rule.reference)) };
  } else if (rule.kind === 'count-of-positive-differences') {
    const comparisons = once(rule.comparisons, (c) => [c.a, c.b], (c) => c.label ?? defaultLabel(table, c.a, c.b));
    onceRule = { ...rule, comparisons, atLeast: rule.atLeast - (rule.comparisons.length - comparisons.length) };
  } else {
    onceRule = { ...rule, competitors: once(rule.competitors, (c) => [c], (c) => cellLabel(table, c)) };
  }
  if (mismatch) return { groups: groupText, confirmed: false, mismatch, dropped };
  const v = judge(table, { ...claim, rule: onceRule, sameAlgorithm: undefined });
  return { groups: groupText, confirmed: true, dropped, verdict: v.verdict, qualifier: v.qualifier, summary: v.summary };
}

/** One sentence on the counted-once verdict, for under the registered one. */
function countedOnceText(v: ClaimVerdict): string | undefined {
  const o = v.countedOnce;
  if (!o) return undefined;
  if (!o.confirmed) return `Counted once (${o.groups}): not given, the data do not show the cells equal (${o.mismatch}).`;
  const verdict = o.qualifier ? `${o.verdict} (${o.qualifier})` : o.verdict!;
  const same = o.verdict === v.verdict && o.qualifier === v.qualifier ? ', the same as registered' : '';
  const dropped = o.dropped.length ? `; dropped as repeats: ${o.dropped.join('; ')}` : '';
  return `Counted once (${o.groups}: the same seeds, with equal values at each${dropped}): ${verdict}${same}. ${o.summary}`;
}

function judge(table: PresetTable, claim: Claim): Omit<ClaimVerdict, 'usedCells' | 'staleCells'> {
  const level = claim.level ?? CONFIDENCE_LEVEL;
  const minPairs = claim.minPairs ?? 2;
  if (!(Number.isInteger(minPairs) && minPairs >= 2)) throw new Error(`claims: ${claim.id}: minPairs must be an integer ≥ 2 (an interval needs two pairs), got ${minPairs}.`);
  const rule = claim.rule;
  const pairsNote = `fewer than ${minPairs} paired seeds`;

  if (rule.kind === 'equivalence-band') {
    const [lo, hi] = rule.band;
    if (!(lo < hi)) throw new Error(`claims: ${claim.id}: band [${lo}, ${hi}] is empty.`);
    const results = rule.cells.map((c) =>
      compare(table, { a: c, b: rule.reference }, level, minPairs, ([l, h]) => (l >= lo && h <= hi ? 'for' : h < lo || l > hi ? 'against' : 'open')),
    );
    const n = count(results);
    const verdict: Verdict = n.against > 0 ? 'not supported' : n.for === results.length && results.length > 0 ? 'supported' : 'inconclusive';
    const summary = `${n.for} of ${results.length} inside [${fmtBound(lo)}, ${fmtBound(hi)}], ${n.against} entirely outside, ${n.open} straddle the band, ${n['too few seeds']} with ${pairsNote}.`;
    return { claim, verdict, qualifier: verdict === 'inconclusive' ? qualifier(results) : undefined, summary, comparisons: results };
  }

  if (rule.kind === 'count-of-positive-differences') {
    const total = rule.comparisons.length;
    if (!(Number.isInteger(rule.atLeast) && rule.atLeast >= 1 && rule.atLeast <= total)) {
      throw new Error(`claims: ${claim.id}: atLeast must be an integer in [1, ${total}], got ${rule.atLeast}.`);
    }
    const t = rule.threshold;
    const results = rule.comparisons.map((c) => compare(table, c, level, minPairs, ([l, h]) => (l > t ? 'for' : h <= t ? 'against' : 'open')));
    const n = count(results);
    const verdict: Verdict = n.for >= rule.atLeast ? 'supported' : n.against > total - rule.atLeast ? 'not supported' : 'inconclusive';
    const summary = `${n.for} of ${total} entirely above ${t} (${rule.atLeast} needed), ${n.against} entirely at or below, ${n.open} straddle ${t}, ${n['too few seeds']} with ${pairsNote}.`;
    return { claim, verdict, qualifier: verdict === 'inconclusive' ? qualifier(results) : undefined, summary, comparisons: results };
  }

  if (rule.kind === 'non-inferiority-margin') {
    const m = rule.margin;
    const ranked = rule.competitors
      .map((ref) => ({ ref, cell: cellOf(table, ref) }))
      .filter((c) => c.cell.state === 'ok' && c.cell.mean !== undefined)
      .sort((x, y) => y.cell.mean! - x.cell.mean!);
    const missing = rule.competitors.filter((ref) => cellOf(table, ref).state !== 'ok');
    const subject = cellOf(table, rule.subject);
    const subjectNote = subject.state !== 'ok' ? ` ${cellLabel(table, rule.subject)} has no result.` : '';
    const missingNote = missing.length > 0 ? ` ${missing.length} of ${rule.competitors.length} competitors have no result: ${missing.map((r) => rowLabel(table, r.method)).join(', ')}.` : '';
    if (ranked.length === 0) {
      return { claim, verdict: 'inconclusive', qualifier: 'not enough seeds', summary: `No competitor has a result.${subjectNote}${missingNote}`, comparisons: [] };
    }
    const best = ranked[0];
    const result = compare(table, { a: rule.subject, b: best.ref }, level, minPairs, ([l, h]) => (l >= m ? 'for' : h < m ? 'against' : 'open'));
    let verdict: Verdict = result.outcome === 'for' ? 'supported' : result.outcome === 'against' ? 'not supported' : 'inconclusive';
    let q = verdict === 'inconclusive' ? qualifier([result]) : undefined;
    if (verdict === 'supported' && missing.length > 0) {
      verdict = 'inconclusive';
      q = 'not enough seeds';
    }
    const where = result.diff.ci ? `lower bound ${result.diff.ci[0].toFixed(2)}, upper bound ${result.diff.ci[1].toFixed(2)}` : `${result.diff.n} paired seed(s), ${pairsNote}`;
    const summary = `Best other by mean: ${cellLabel(table, best.ref)} (${best.cell.mean!.toFixed(2)}); margin ${m}: ${where}.${subjectNote}${missingNote}`;
    return { claim, verdict, qualifier: q, summary, comparisons: [result] };
  }

  const never: never = rule;
  throw new Error(`claims: unknown rule kind in ${JSON.stringify(never)}.`);
}

export function evaluateClaims(table: PresetTable, claims: readonly Claim[]): ClaimVerdict[] {
  return claims.map((c) => evaluateClaim(table, c));
}

/** "supported", "not supported", "inconclusive (not enough seeds)", ... */
export function verdictText(v: ClaimVerdict): string {
  return v.qualifier ? `${v.verdict} (${v.qualifier})` : v.verdict;
}

const OUTCOME_WORDS: Record<ClaimRuleKind, Record<ComparisonOutcome, string>> = {
  'equivalence-band': { for: 'inside the band', against: 'outside the band', open: 'straddles the band', 'too few seeds': 'too few paired seeds' },
  'count-of-positive-differences': { for: 'above', against: 'at or below', open: 'straddles', 'too few seeds': 'too few paired seeds' },
  'non-inferiority-margin': { for: 'above the margin', against: 'below the margin', open: 'straddles the margin', 'too few seeds': 'too few paired seeds' },
};

function outcomeText(v: ClaimVerdict, r: ComparisonResult): string {
  const w = OUTCOME_WORDS[v.claim.rule.kind][r.outcome];
  return v.claim.rule.kind === 'count-of-positive-differences' && (r.outcome === 'for' || r.outcome === 'against' || r.outcome === 'open') ? `${w} ${v.claim.rule.threshold}` : w;
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
}

function diffNumbers(d: PairedDifference): { mean: string; ci: string } {
  return {
    mean: d.mean === undefined ? '–' : signed(d.mean),
    ci: d.ci ? `[${signed(d.ci[0])}, ${signed(d.ci[1])}]` : '–',
  };
}

function staleText(v: ClaimVerdict): string {
  if (v.staleCells.length === 0) return '';
  if (v.staleCells.length === v.usedCells.length && v.usedCells.length > 3) return ` Rests only on stale cells (†): all ${v.usedCells.length} cells it pairs.`;
  if (v.staleCells.length === v.usedCells.length) return ` Rests only on stale cells (†): ${v.staleCells.join(', ')}.`;
  return ` Uses stale cells (†): ${v.staleCells.join(', ')}.`;
}

/** The "Claims" section of one preset, in Markdown. */
export function renderClaimsMarkdown(verdicts: readonly ClaimVerdict[], preset: string): string[] {
  if (verdicts.length === 0) return [];
  const level = Math.round((verdicts[0].claim.level ?? CONFIDENCE_LEVEL) * 100);
  const out: string[] = [
    '',
    `### Claims (preset ${preset})`,
    '',
    'Pre-registered in `configs/claims.ts`. Each comparison is paired over seeds: the per-seed difference of the two',
    `cells over the seeds both have (same seed = same init, data order and augmentations), its mean and ${level}% t-interval.`,
  ];
  verdicts.forEach((v, i) => {
    const stale = staleText(v);
    out.push('', `**Claim ${i + 1}: ${v.claim.title}: ${verdictText(v)}.** ${v.claim.test} ${v.summary}${stale}`);
    const once = countedOnceText(v);
    if (once) out.push('', `*${once}*`);
    if (v.comparisons.length === 0) return;
    out.push('', `| Comparison | Pairs | Mean difference | ${Math.round((v.claim.level ?? CONFIDENCE_LEVEL) * 100)}% CI | Outcome |`, '|---|---|---|---|---|');
    for (const r of v.comparisons) {
      const d = diffNumbers(r.diff);
      out.push(`| ${r.label} | ${r.diff.n} | ${d.mean} | ${d.ci} | ${outcomeText(v, r)} |`);
    }
  });
  return out;
}

/** The verdicts as plain text lines, for a terminal. */
export function formatClaimsText(verdicts: readonly ClaimVerdict[], preset: string): string[] {
  if (verdicts.length === 0) return [];
  const out = [`claims (preset ${preset}):`];
  verdicts.forEach((v, i) => {
    out.push(`  ${i + 1}. ${v.claim.title}: ${verdictText(v).toUpperCase()}. ${v.summary}`);
    if (v.staleCells.length > 0) out.push(`     ${staleText(v).trim()}`);
    const once = countedOnceText(v);
    if (once) out.push(`     ${once}`);
    for (const r of v.comparisons.filter((c) => c.diff.n > 0)) {
      const d = diffNumbers(r.diff);
      out.push(`     ${r.label}: mean ${d.mean}, CI ${d.ci}, n=${r.diff.n} pairs -> ${outcomeText(v, r)}`);
    }
    const none = v.comparisons.filter((c) => c.diff.n === 0);
    if (none.length > 0) out.push(`     no shared seeds: ${none.map((c) => c.label).join('; ')}`);
  });
  return out;
}
