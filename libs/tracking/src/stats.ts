// Small-sample statistics for the results table: mean, sample std and the Student-t confidence interval of a
// cell's seeds, and the paired difference of two cells over the seeds both have. Pure functions, no I/O.
//
// The t quantile comes from jstat (zero dependencies, CommonJS, MIT). It ships no type declarations, so it is
// loaded with a typed require (the pattern libs/core uses for optional packages): an ambient `declare module`
// file here would not be seen by projects that type-check only their own sources and import this library.
const jStat = require('jstat') as { studentt: { inv(p: number, dof: number): number } };

/** Default confidence level of every interval in the table: 95%, two-sided. */
export const CONFIDENCE_LEVEL = 0.95;

/**
 * The two-sided Student-t critical value: the `(1 + level) / 2` quantile of t with `df` degrees of freedom
 * (e.g. 4.3027 for level 0.95 and df 2).
 */
export function tCritical(df: number, level = CONFIDENCE_LEVEL): number {
  if (!(Number.isInteger(df) && df >= 1)) throw new Error(`stats: degrees of freedom must be a positive integer, got ${df}.`);
  if (!(level > 0 && level < 1)) throw new Error(`stats: confidence level must lie in (0, 1), got ${level}.`);
  return jStat.studentt.inv((1 + level) / 2, df);
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); undefined for n = 1. */
  std?: number;
  /** Half-width of the two-sided t-interval of the mean: t(n−1) · std / √n; undefined for n = 1. */
  halfWidth?: number;
  /** [mean − halfWidth, mean + halfWidth]; undefined for n = 1 (one value has no interval). */
  ci?: [number, number];
  level: number;
}

/** Mean, sample std and t confidence interval of the mean of `xs` (at least one value). */
export function summarize(xs: readonly number[], level = CONFIDENCE_LEVEL): Summary {
  const n = xs.length;
  if (n === 0) throw new Error('stats: cannot summarise an empty sample.');
  if (!xs.every(Number.isFinite)) throw new Error(`stats: sample has a non-finite value: ${xs.join(', ')}.`);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, level };
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const halfWidth = (tCritical(n - 1, level) * std) / Math.sqrt(n);
  return { n, mean, std, halfWidth, ci: [mean - halfWidth, mean + halfWidth], level };
}

/** Per-seed values of one cell: seed (the `unigrad.seed` tag) → value. */
export type SeedValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

export interface PairedDifference extends Partial<Omit<Summary, 'n' | 'level'>> {
  /** Number of seeds both cells have (the pairs). */
  n: number;
  /** Those seeds, in numeric order. */
  seeds: string[];
  /** a[seed] − b[seed] for each of `seeds`. */
  diffs: number[];
  level: number;
}

function entries(v: SeedValues): Map<string, number> {
  return v instanceof Map ? new Map(v) : new Map(Object.entries(v));
}

/**
 * The paired comparison a − b over seeds. Runs of different cells with the same seed share the initialisation,
 * the data order and the augmentations, so the per-seed differences remove that shared variation; the interval
 * is the t-interval of their mean (n − 1 degrees of freedom, n = number of shared seeds). Seeds only one cell
 * has are ignored. With no shared seed there is no mean; with one there is no interval.
 */
export function pairedDifference(a: SeedValues, b: SeedValues, level = CONFIDENCE_LEVEL): PairedDifference {
  const am = entries(a);
  const bm = entries(b);
  const seeds = [...am.keys()].filter((s) => bm.has(s)).sort((x, y) => x.localeCompare(y, undefined, { numeric: true }));
  const diffs = seeds.map((s) => am.get(s)! - bm.get(s)!);
  if (seeds.length === 0) return { n: 0, seeds, diffs, level };
  const s = summarize(diffs, level);
  return { ...s, seeds, diffs };
}
