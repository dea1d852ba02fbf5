import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { effectiveRank, singularValues } from './rank';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** count × dim rows spread over `k` orthogonal directions with equal scale. */
function spreadOver(k: number, count: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < k; j++) x[i * dim + j] = rng.normal();
  return x;
}

describe('effectiveRank (RankMe)', () => {
  it('singular values of a diagonal matrix are its diagonal', () => {
    const x = new Float32Array([3, 0, 0, 0, 2, 0, 0, 0, 1]);
    const s = singularValues(x, 3, 3);
    [3, 2, 1].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 5));
  });

  it('equals k for k equal singular values (the hand value exp(log k))', () => {
    // Rows e1, e2, e3, e4 (scaled equally) → σ = (1, 1, 1, 1, 0, …) → p = 1/4 each → exp(log 4) = 4.
    const dim = 8;
    const x = new Float32Array(4 * dim);
    for (let i = 0; i < 4; i++) x[i * dim + i] = 2;
    expect(effectiveRank({ features: x, count: 4, dim })).toBeCloseTo(4, 3);
  });

  it('falls under dimensional collapse that a per-dimension std does not see', () => {
    const full = effectiveRank({ features: spreadOver(32, 2000, 32, 1), count: 2000, dim: 32 });
    const collapsed = effectiveRank({ features: spreadOver(2, 2000, 32, 2), count: 2000, dim: 32 });
    expect(full).toBeGreaterThan(28);
    expect(collapsed).toBeLessThan(2.1);
    expect(collapsed).toBeGreaterThan(1.8);
  });

  it('is invariant to a global rescaling', () => {
    const x = spreadOver(8, 500, 16, 3);
    const scaled = x.map((v) => 10 * v);
    expect(effectiveRank({ features: scaled, count: 500, dim: 16 })).toBeCloseTo(effectiveRank({ features: x, count: 500, dim: 16 }), 4);
  });
});
