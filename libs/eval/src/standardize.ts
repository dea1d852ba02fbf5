// Per-dimension feature standardisation with statistics of the training split only: x' = (x − μ_train) / σ_train,
// the same map for train, validation and test. It is BatchNorm in inference mode without the affine part (and, by
// default, without BN's ε), so a probe on standardised features does not depend on the scale or offset of each
// input dimension: a 784-d raw-pixel input and a 64-d encoder feature start on the same footing.
import { FeatureSet, checkFeatureSet } from './batches';

export interface StandardizeOptions {
  /**
   * Added to the variance before the square root, like BatchNorm's ε. Default 0: the map is then exactly invariant
   * to a per-dimension rescaling of the features (a positive ε is not: it matters for dimensions whose variance
   * is comparable to ε).
   */
  epsilon?: number;
  /**
   * A dimension whose training standard deviation is 0 or ≤ minStd·|mean| counts as constant: it is only centred
   * (scale 1), so it becomes 0 on the training rows instead of 0/0. Default 1e-6 (float32 features carry about 7
   * significant digits, so a smaller spread relative to the mean is rounding, not signal). The test is relative,
   * so it too is unchanged by rescaling a dimension.
   */
  minStd?: number;
}

/** Training statistics of a feature set; apply them with `standardizeFeatures`. Float64, length `dim`. */
export interface FeatureStandardizer {
  dim: number;
  /** Per-dimension training mean. */
  mean: Float64Array;
  /** Per-dimension training standard deviation (population, like BN's biased variance), before the guard. */
  std: Float64Array;
  /** The divisor actually used: sqrt(std² + ε), or 1 for a constant dimension. */
  scale: Float64Array;
  /** Indices of the dimensions treated as constant (centred only). */
  constantDims: number[];
}

/**
 * Per-dimension mean and standard deviation of `train` (optionally only of the given rows), in float64 with two
 * passes. Pass only training rows: validation and test rows must never contribute to these statistics.
 */
export function fitStandardizer(train: FeatureSet, options: StandardizeOptions = {}, rows?: ArrayLike<number>): FeatureStandardizer {
  checkFeatureSet('standardizer features', train);
  const epsilon = options.epsilon ?? 0;
  const minStd = options.minStd ?? 1e-6;
  if (!(epsilon >= 0)) throw new Error(`standardize epsilon must be >= 0, got ${epsilon}`);
  if (!(minStd >= 0)) throw new Error(`standardize minStd must be >= 0, got ${minStd}`);
  const { dim, features } = train;
  const n = rows ? rows.length : train.count;
  if (n < 1) throw new Error('fitStandardizer: no rows to compute statistics from');
  const rowAt = (i: number): number => {
    const r = rows ? rows[i] : i;
    if (!(Number.isInteger(r) && r >= 0 && r < train.count)) throw new Error(`fitStandardizer: row ${r} is outside [0, ${train.count})`);
    return r;
  };
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const off = rowAt(i) * dim;
    for (let d = 0; d < dim; d++) mean[d] += features[off + d];
  }
  for (let d = 0; d < dim; d++) mean[d] /= n;
  const variance = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const off = rowAt(i) * dim;
    for (let d = 0; d < dim; d++) {
      const c = features[off + d] - mean[d];
      variance[d] += c * c;
    }
  }
  const std = new Float64Array(dim);
  const scale = new Float64Array(dim);
  const constantDims: number[] = [];
  for (let d = 0; d < dim; d++) {
    std[d] = Math.sqrt(variance[d] / n);
    if (std[d] === 0 || std[d] <= minStd * Math.abs(mean[d])) {
      scale[d] = 1;
      constantDims.push(d);
    } else {
      scale[d] = Math.sqrt(std[d] * std[d] + epsilon);
    }
  }
  return { dim, mean, std, scale, constantDims };
}

/** (x − mean) / scale for every row of `set` (or of the given rows, in that order), as a new float32 FeatureSet. */
export function standardizeFeatures(set: FeatureSet, standardizer: FeatureStandardizer, rows?: ArrayLike<number>): FeatureSet {
  checkFeatureSet('standardized features', set);
  if (set.dim !== standardizer.dim) throw new Error(`standardizeFeatures: features have dim ${set.dim}, the statistics ${standardizer.dim}`);
  const { dim } = set;
  const count = rows ? rows.length : set.count;
  const out = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const r = rows ? rows[i] : i;
    if (!(Number.isInteger(r) && r >= 0 && r < set.count)) throw new Error(`standardizeFeatures: row ${r} is outside [0, ${set.count})`);
    labels[i] = set.labels[r];
    standardizeRow(set.features, r * dim, out, i * dim, standardizer);
  }
  return { features: out, labels, count, dim };
}

/** Writes the standardised row `src[srcOffset .. +dim)` to `dst[dstOffset ..]`. */
export function standardizeRow(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, s: FeatureStandardizer): void {
  for (let d = 0; d < s.dim; d++) dst[dstOffset + d] = (src[srcOffset + d] - s.mean[d]) / s.scale[d];
}
