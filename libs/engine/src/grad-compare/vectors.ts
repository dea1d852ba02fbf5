// Pure row-vector arithmetic of the gradient comparison (float64, no tfjs): tangent projection, the
// positive/negative decomposition, checked cosines and the least-squares λ fit.
//
// Every matrix here is 2n×D: row i < n is a view-1 sample, row n + i the view-2 sample of the same image.

export type Rows = number[][];

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

export function norm(a: readonly number[]): number {
  return Math.sqrt(dot(a, a));
}

/** a − s·b. */
function subScaled(a: readonly number[], b: readonly number[], s: number): number[] {
  const out = new Array<number>(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] - s * b[k];
  return out;
}

/** How far past ±1 a float64 cosine of float32-derived vectors may land before it counts as a bug. */
export const COSINE_TOLERANCE = 1e-6;

/**
 * A cosine clipped to [−1, 1]. Rounding can put a cosine of (nearly) parallel vectors a few ulps beyond ±1 and
 * that is clipped; anything further out (or NaN) means the inputs were not what the caller thinks and throws.
 */
export function clipCosine(raw: number, tolerance = COSINE_TOLERANCE): number {
  if (!Number.isFinite(raw) || Math.abs(raw) > 1 + tolerance) throw new Error(`cosine ${raw} is outside [−1, 1] by more than rounding (${tolerance})`);
  return Math.max(-1, Math.min(1, raw));
}

/** Below this norm a vector has no direction: its cosine is undefined (null), not 0. */
export const ZERO_NORM = 1e-12;

/** cos(a, b) in [−1, 1], or null when either vector is (numerically) zero. */
export function cosine(a: readonly number[], b: readonly number[]): number | null {
  const na = norm(a);
  const nb = norm(b);
  if (na <= ZERO_NORM || nb <= ZERO_NORM) return null;
  return clipCosine(dot(a, b) / (na * nb));
}

/** The component of g tangent to the unit sphere at z: (I − z zᵀ) g (z a unit vector). */
export function tangent(g: readonly number[], z: readonly number[]): number[] {
  return subScaled(g, z, dot(g, z));
}

/** Rows of a matrix as unit vectors p / max(‖p‖, 1e-12) (spec §2). */
export function normalizeRows(p: Rows): Rows {
  return p.map((row) => {
    const n = Math.max(norm(row), 1e-12);
    return row.map((v) => v / n);
  });
}

export interface Decomposition {
  /** The component along the tangent direction of the other view's target, t⊥ = (I − z zᵀ) t. */
  positive: Rows;
  /** g − positive: everything else (the "negative" part). */
  negative: Rows;
}

/**
 * Splits tangent gradients g_i into the part along t⊥_i = (I − z_i z_iᵀ) t_i (the other view's target, seen from
 * the sphere at z_i) and the rest, so positive + negative = g exactly and the negative part is orthogonal to t⊥_i.
 * Projecting on t⊥ rather than on t keeps both parts tangent: g is tangent, so <g, t> = <g, t⊥>, and the part of t
 * along z could never be followed by a gradient through the normalisation. When t⊥_i vanishes (t_i = ±z_i) the
 * pull has no direction and the whole g_i counts as negative.
 */
export function decompose(g: Rows, z: Rows, t: Rows): Decomposition {
  const positive: Rows = [];
  const negative: Rows = [];
  for (let i = 0; i < g.length; i++) {
    const tp = tangent(t[i], z[i]);
    const tt = dot(tp, tp);
    const coefficient = tt > ZERO_NORM * ZERO_NORM ? dot(g[i], tp) / tt : 0;
    const pos = tp.map((v) => coefficient * v);
    positive.push(pos);
    negative.push(subScaled(g[i], pos, 1));
  }
  return { positive, negative };
}

/** The negative part of each row of `x` under the decomposition of `decompose` (what is left after removing t⊥). */
export function negativePart(x: Rows, z: Rows, t: Rows): Rows {
  return decompose(x, z, t).negative;
}

/** Running sums of the per-sample cosines of one pair of gradients (null cosines are skipped and counted). */
export interface CosineSum {
  sum: number;
  count: number;
  /** Samples where either vector was zero (no direction). */
  undefinedCount: number;
}

export function emptyCosineSum(): CosineSum {
  return { sum: 0, count: 0, undefinedCount: 0 };
}

export function addCosines(acc: CosineSum, a: Rows, b: Rows): void {
  for (let i = 0; i < a.length; i++) {
    const c = cosine(a[i], b[i]);
    if (c === null) acc.undefinedCount++;
    else {
      acc.sum += c;
      acc.count++;
    }
  }
}

/** Mean of the per-sample cosines, null when no sample had a defined cosine. Always in [−1, 1]. */
export function meanCosine(acc: CosineSum): number | null {
  return acc.count > 0 ? clipCosine(acc.sum / acc.count) : null;
}

/**
 * Sums for the least-squares fit y ≈ λ·x over all rows of all batches: S_xy = Σ<y_i, x_i>, S_xx = Σ‖x_i‖²,
 * S_yy = Σ‖y_i‖². Then λ = S_xy / S_xx and R² = 1 − Σ‖y − λx‖² / Σ‖y‖² = S_xy² / (S_xx S_yy).
 */
export interface FitSum {
  xy: number;
  xx: number;
  yy: number;
}

export function emptyFitSum(): FitSum {
  return { xy: 0, xx: 0, yy: 0 };
}

export function addFit(acc: FitSum, y: Rows, x: Rows): void {
  for (let i = 0; i < y.length; i++) {
    acc.xy += dot(y[i], x[i]);
    acc.xx += dot(x[i], x[i]);
    acc.yy += dot(y[i], y[i]);
  }
}

export interface Fit {
  /** The least-squares coefficient; null when x is zero. */
  coefficient: number | null;
  /** Fraction of Σ‖y‖² the fit explains, in [0, 1]; null when x or y is zero. */
  r2: number | null;
}

export function solveFit(acc: FitSum): Fit {
  if (acc.xx <= ZERO_NORM * ZERO_NORM) return { coefficient: null, r2: null };
  const coefficient = acc.xy / acc.xx;
  if (acc.yy <= ZERO_NORM * ZERO_NORM) return { coefficient, r2: null };
  const c = clipCosine(acc.xy / Math.sqrt(acc.xx * acc.yy));
  return { coefficient, r2: c * c };
}

/** Mean of ‖row‖ over the rows. */
export function meanRowNorm(x: Rows): number {
  return x.length ? x.reduce((s, row) => s + norm(row), 0) / x.length : 0;
}

/** Rows of x·M for a symmetric D×D matrix M (so also M·x_i per row). */
export function rowsTimes(x: Rows, M: Rows): Rows {
  const D = M.length;
  return x.map((row) => {
    const out = new Array<number>(D).fill(0);
    for (let a = 0; a < D; a++) {
      const v = row[a];
      if (v === 0) continue;
      const Ma = M[a];
      for (let b = 0; b < D; b++) out[b] += v * Ma[b];
    }
    return out;
  });
}
