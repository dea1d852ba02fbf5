import { Rng } from '@unigrad/core';
import { describe, expect, it } from 'vitest';
import { addCosines, addFit, clipCosine, cosine, decompose, dot, emptyCosineSum, emptyFitSum, meanCosine, norm, normalizeRows, solveFit, tangent, type Rows } from './vectors';

function random(rows: number, cols: number, rng: Rng): Rows {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}

describe('grad-compare vectors', () => {
  const rng = new Rng(17);
  const z = normalizeRows(random(12, 7, rng));
  const t = normalizeRows(random(12, 7, rng));
  const g = random(12, 7, rng).map((row, i) => tangent(row, z[i]));

  it('the decomposition: both parts tangent, the positive part along t⊥ with all of <g, t>, the negative part orthogonal to t⊥', () => {
    const { positive, negative } = decompose(g, z, t);
    for (let i = 0; i < g.length; i++) {
      const tp = tangent(t[i], z[i]);
      expect(Math.abs(dot(negative[i], tp))).toBeLessThan(1e-12);
      expect(Math.abs(dot(positive[i], z[i]))).toBeLessThan(1e-12);
      expect(Math.abs(dot(negative[i], z[i]))).toBeLessThan(1e-12);
      // The positive part is parallel to t⊥ and carries all of <g, t>.
      expect(Math.abs(Math.abs(cosine(positive[i], tp) ?? 0) - 1)).toBeLessThan(1e-9);
      expect(dot(positive[i], t[i])).toBeCloseTo(dot(g[i], t[i]), 12);
    }
  });

  it('a target equal to the anchor has no pull direction: the whole gradient is negative', () => {
    const { positive, negative } = decompose([g[0]], [z[0]], [z[0]]);
    expect(norm(positive[0])).toBe(0);
    expect(negative[0]).toEqual(g[0]);
  });

  it('cosines are clipped to [−1, 1]: (nearly) parallel and antiparallel vectors, rounding beyond ±1', () => {
    const a = [0.1, 0.2, 0.30000000000000004, 1e-9];
    for (const b of [a, a.map((v) => v * 3), a.map((v) => -v * 1e6), a.map((v) => v + 1e-17)]) {
      const c = cosine(a, b) as number;
      expect(c).toBeGreaterThanOrEqual(-1);
      expect(c).toBeLessThanOrEqual(1);
      expect(Math.abs(Math.abs(c) - 1)).toBeLessThan(1e-12);
    }
    expect(clipCosine(1 + 1e-9)).toBe(1);
    expect(clipCosine(-1 - 1e-9)).toBe(-1);
    expect(() => clipCosine(1.01)).toThrow(/outside/);
    expect(() => clipCosine(Number.NaN)).toThrow(/outside/);
    expect(cosine([0, 0, 0], a)).toBeNull();
    const sum = emptyCosineSum();
    addCosines(sum, [...g, [0, 0, 0, 0, 0, 0, 0]], [...g.map((row) => row.map((v) => -v)), g[0]]);
    expect(sum.count).toBe(g.length);
    expect(sum.undefinedCount).toBe(1);
    expect(meanCosine(sum)).toBeCloseTo(-1, 12);
    for (let i = 0; i < g.length; i++) for (let j = 0; j < g.length; j++) expect(Math.abs(cosine(g[i], g[j]) as number)).toBeLessThanOrEqual(1);
  });

  it('the least-squares fit recovers a known coefficient and R² = cos² of the stacked vectors', () => {
    const x = random(20, 5, rng);
    const exact = emptyFitSum();
    addFit(exact, x.map((row) => row.map((v) => 2.5 * v)), x);
    expect(solveFit(exact).coefficient).toBeCloseTo(2.5, 12);
    expect(solveFit(exact).r2).toBeCloseTo(1, 12);
    const noisy = emptyFitSum();
    const y = x.map((row) => row.map((v) => -0.7 * v + rng.normal()));
    addFit(noisy, y, x);
    const flat = (m: Rows) => m.flat();
    const c = cosine(flat(y), flat(x)) as number;
    expect(solveFit(noisy).r2).toBeCloseTo(c * c, 12);
    expect(solveFit(noisy).coefficient).toBeCloseTo(dot(flat(y), flat(x)) / dot(flat(x), flat(x)), 12);
    expect(solveFit(emptyFitSum())).toEqual({ coefficient: null, r2: null });
  });
});
