import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  correlationJs,
  directPredJs,
  finiteDifferenceGrad,
  gradThroughNormalisation,
  maxRelativeError,
  normalizeRowsJs,
  predictorCosineJs,
  scale,
  type Mat,
} from './js-reference';
import { randomInputs, run } from './test-support';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** d loss / d p1, d p2 of the spec §3.3 recipe, by hand in float64 with an exact eigendecomposition. */
function directPredReference(p1: Mat, p2: Mat, t1: Mat, t2: Mat, F: Mat, eps: number) {
  const [z1, z2] = [normalizeRowsJs(p1), normalizeRowsJs(p2)];
  return { g1: gradThroughNormalisation(p1, directPredJs(F, z1, t2, eps)), g2: gradThroughNormalisation(p2, directPredJs(F, z2, t1, eps)) };
}

const rowDots = (a: Mat, b: Mat) => a.map((r, i) => r.reduce((s, v, j) => s + v * b[i][j], 0));

describe.each(['byol', 'simsiam'])('%s gradient form (DirectPred, spec §3.3)', (method) => {
  // N = 8, D = 6 (full-rank F) and N = 3, D = 8 (rank-deficient F: 2n < D).
  it.each([
    [8, 6, 41],
    [3, 8, 42],
  ])('first step (n=%i, D=%i): matches the hand-written g formula with W_p from an exact eigensolver', (n, d, seed) => {
    const x = randomInputs(n, d, seed);
    const [t1, t2] = [normalizeRowsJs(x.p1m), normalizeRowsJs(x.p2m)];
    const out = run(method, 'grad', 'mm', x);
    const F = correlationJs(t1, t2);
    expect(maxRelativeError(out.state.F as Mat, F)).toBeLessThan(1e-5);
    const ref = directPredReference(x.p1, x.p2, t1, t2, F, 0.3);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(5e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(5e-4);
  });

  it('with state and custom ρ, ε: F is updated before use', () => {
    const x = randomInputs(5, 6, 43);
    const [t1, t2] = [normalizeRowsJs(x.p1m), normalizeRowsJs(x.p2m)];
    const previous = correlationJs(normalizeRowsJs(x.q1), normalizeRowsJs(x.q2));
    const out = run(method, 'grad', 'mm', x, { F: previous }, { rho: 0.8, eps: 0.1 });
    const F = add(scale(previous, 0.8), scale(correlationJs(t1, t2), 0.2));
    expect(maxRelativeError(out.state.F as Mat, F)).toBeLessThan(1e-5);
    const ref = directPredReference(x.p1, x.p2, t1, t2, F, 0.1);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(5e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(5e-4);
  });

  it('surrogate value is ~0 and the gradient is tangent to the sphere', () => {
    const x = randomInputs(6, 5, 44);
    const out = run(method, 'grad', 'mm', x);
    expect(Math.abs(out.value)).toBeLessThan(1e-6);
    const radial = [...rowDots(out.grads.p1 as Mat, x.p1), ...rowDots(out.grads.p2 as Mat, x.p2)];
    const size = Math.max(...(out.grads.p1 as Mat).flat().map(Math.abs));
    expect(Math.max(...radial.map(Math.abs))).toBeLessThan(1e-4 * size);
  });

  it('no_mm uses the stop-gradient online targets (equals mm with p*m = p*)', () => {
    const x = randomInputs(6, 5, 45);
    const a = run(method, 'grad', 'no_mm', { p1: x.p1, p2: x.p2 });
    const b = run(method, 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 });
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.state.F as Mat, b.state.F as Mat)).toBeLessThan(1e-6);
    const [s1, s2] = [normalizeRowsJs(x.p1), normalizeRowsJs(x.p2)];
    const ref = directPredReference(x.p1, x.p2, s1, s2, correlationJs(s1, s2), 0.3);
    expect(maxRelativeError(a.grads.p1 as Mat, ref.g1)).toBeLessThan(5e-4);
  });

  it('rejects ε below the official clamp 1e-4', () => {
    const x = randomInputs(2, 3, 46);
    expect(() => run(method, 'grad', 'mm', x, {}, { eps: 0 })).toThrow(/eps must be >= 1e-4/);
  });
});

describe('original BYOL (published Σ(2 − 2cos)) / SimSiam (0.5·mean(−cos(q1, t2)) + 0.5·mean(−cos(q2, t1)))', () => {
  const x = randomInputs(5, 4, 47);

  it("byol: EMA targets at BYOL's published scale, 4 + 4·SimSiam's; value and d/dq match explicit loops; no gradient into p", () => {
    const out = run('byol', 'original', 'mm', x);
    const f = (q1: Mat, q2: Mat) => 4 + 4 * predictorCosineJs(q1, q2, x.p1m, x.p2m);
    expect(out.value).toBeCloseTo(f(x.q1, x.q2), 5);
    expect(maxRelativeError(out.grads.q1 as Mat, finiteDifferenceGrad((q) => f(q, x.q2), x.q1))).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.q2 as Mat, finiteDifferenceGrad((q) => f(x.q1, q), x.q2))).toBeLessThan(1e-4);
    expect((out.grads.p1 as Mat).flat().every((v) => v === 0)).toBe(true);
    expect(() => run('byol', 'original', 'mm', { p1: x.p1, p2: x.p2, q1: x.q1, q2: x.q2 })).toThrow(/p1m is missing/);
  });

  it('simsiam: stop-gradient online targets; d/dp is zero', () => {
    const out = run('simsiam', 'original', 'mm', { p1: x.p1, p2: x.p2, q1: x.q1, q2: x.q2 });
    const f = (q1: Mat, q2: Mat) => predictorCosineJs(q1, q2, x.p1, x.p2);
    expect(out.value).toBeCloseTo(f(x.q1, x.q2), 5);
    expect(maxRelativeError(out.grads.q1 as Mat, finiteDifferenceGrad((q) => f(q, x.q2), x.q1))).toBeLessThan(1e-4);
    expect((out.grads.p1 as Mat).flat().every((v) => v === 0)).toBe(true);
    expect((out.grads.p2 as Mat).flat().every((v) => v === 0)).toBe(true);
    expect(() => run('simsiam', 'original', 'mm', { p1: x.p1, p2: x.p2 })).toThrow(/q1 is missing/);
  });
});
