import { describe, expect, it } from 'vitest';
import type { FeatureSet } from './batches';
import { fitStandardizer, standardizeFeatures } from './standardize';

function set(rows: number[][], labels?: number[]): FeatureSet {
  return {
    features: Float32Array.from(rows.flat()),
    labels: Int32Array.from(labels ?? rows.map(() => 0)),
    count: rows.length,
    dim: rows[0].length,
  };
}

describe('fitStandardizer / standardizeFeatures', () => {
  const train = set([
    [1, 10, 5],
    [3, 20, 5],
    [5, 60, 5],
  ]);

  it('uses the population mean and std of the training rows and maps train to mean 0, std 1', () => {
    const s = fitStandardizer(train);
    expect(Array.from(s.mean)).toEqual([3, 30, 5]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(s.std[1]).toBeCloseTo(Math.sqrt(1400 / 3), 10);
    const out = standardizeFeatures(train, s);
    for (let d = 0; d < 2; d++) {
      const col = [0, 1, 2].map((i) => out.features[i * 3 + d]);
      const mean = col.reduce((a, b) => a + b, 0) / 3;
      const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
      expect(mean).toBeCloseTo(0, 6);
      expect(variance).toBeCloseTo(1, 5);
    }
  });

  it('applies the training statistics, unchanged, to other sets', () => {
    const s = fitStandardizer(train);
    const test = set([[7, 30, 6]], [2]);
    const out = standardizeFeatures(test, s);
    expect(out.features[0]).toBeCloseTo(4 / Math.sqrt(8 / 3), 5);
    expect(out.features[1]).toBeCloseTo(0, 6);
    expect(out.features[2]).toBeCloseTo(1, 6); // constant dim: centred only, scale 1
    expect(Array.from(out.labels)).toEqual([2]);
  });

  it('only centres a zero-variance dimension (no 0/0) and reports it', () => {
    const s = fitStandardizer(train);
    expect(s.constantDims).toEqual([2]);
    expect(s.scale[2]).toBe(1);
    const out = standardizeFeatures(train, s);
    expect([0, 1, 2].map((i) => out.features[i * 3 + 2])).toEqual([0, 0, 0]);
    expect(out.features.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('treats a spread at float32 rounding level relative to the mean as constant', () => {
    const base = 1000;
    const s = fitStandardizer(set([[base], [base + 1e-4], [base]]));
    expect(s.constantDims).toEqual([0]);
  });

  it('computes statistics from the given rows only, and standardises the given rows in order', () => {
    const s = fitStandardizer(train, {}, [0, 1]);
    expect(Array.from(s.mean)).toEqual([2, 15, 5]);
    const out = standardizeFeatures(train, s, [2, 0]);
    expect(out.count).toBe(2);
    expect(out.features[0]).toBeCloseTo(3, 6); // (5 − 2) / 1
    expect(out.features[3]).toBeCloseTo(-1, 6);
  });

  it('adds epsilon to the variance like BatchNorm when asked', () => {
    const s = fitStandardizer(train, { epsilon: 1 });
    expect(s.scale[0]).toBeCloseTo(Math.sqrt(8 / 3 + 1), 12);
  });

  it('is invariant to a positive per-dimension affine map of the features', () => {
    const a = fitStandardizer(train);
    const scaled = set([
      [1 * 1e3 - 7, 10 * 0.01 + 2, 5],
      [3 * 1e3 - 7, 20 * 0.01 + 2, 5],
      [5 * 1e3 - 7, 60 * 0.01 + 2, 5],
    ]);
    const x = standardizeFeatures(train, a).features;
    const y = standardizeFeatures(scaled, fitStandardizer(scaled)).features;
    x.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
  });

  it('rejects a dimension mismatch', () => {
    expect(() => standardizeFeatures(set([[1, 2]]), fitStandardizer(train))).toThrow(/dim 2/);
  });
});
