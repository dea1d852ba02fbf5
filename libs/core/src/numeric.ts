// Comparing float32 results across backends and against reference formulas.

/**
 * max |actual − expected| / max |expected|: the error relative to the reference's largest magnitude, the measure
 * every parity test here uses (element-wise relative error is meaningless for entries near zero).
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`relativeError: ${actual.length} values vs ${expected.length} expected`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (!(scale > 0)) throw new Error('relativeError: the expected values are all zero; compare absolute errors instead');
  return diff / scale;
}
