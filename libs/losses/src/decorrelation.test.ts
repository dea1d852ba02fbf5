import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeRows, rowDot } from './common';
import { barlowTwinsJs, finiteDifferenceGrad, gradThroughNormalisation, maxRelativeError, normalizeRowsJs, vicregJs, type Mat } from './js-reference';
import { c, closedForm, randomInputs, run } from './test-support';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** Spec §3.4: L = 0.5·(L1 + L2), L1 = −2 tr C + λ‖C‖², C = Z1ᵀ Z2m / N with gradient through Z1. */
function barlowClosed(t1: Mat, t2: Mat, lambda: number, N: number) {
  return (p1: tf.Tensor2D, p2: tf.Tensor2D) => {
    const half = (z: tf.Tensor2D, t: Mat) => {
      const C = tf.matMul(z, c(t), true, false).div(N);
      return tf.add(tf.sum(tf.mul(C, tf.eye(C.shape[0]))).mul(-2), tf.sum(tf.square(C)).mul(lambda));
    };
    return tf.add(half(normalizeRows(p1), t2), half(normalizeRows(p2), t1)).mul(0.5) as tf.Scalar;
  };
}

describe('barlow_twins gradient form (spec §3.4)', () => {
  const x = randomInputs(6, 5, 51);
  const [t1, t2] = [normalizeRowsJs(x.p1m), normalizeRowsJs(x.p2m)];

  it('with wholeBatchSize = n its gradient equals that of −2 tr C + λ‖C‖²', () => {
    const out = run('barlow_twins', 'grad', 'mm', x);
    const ref = closedForm(barlowClosed(t1, t2, 50, 6), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
  });

  it('divides by the configured wholeBatchSize, keeps the overall factor 2', () => {
    const N = 64;
    const out = run('barlow_twins', 'grad', 'mm', x, {}, { wholeBatchSize: N, lambda: 20 });
    const [z1, z2] = [normalizeRowsJs(x.p1), normalizeRowsJs(x.p2)];
    // G1_i = 2(−t2_i + λ Σ_m (t2_i·t2_m) z1_m / N), by loops.
    const G = (t: Mat, z: Mat) =>
      t.map((ti) => ti.map((v, k) => 2 * (-v + (20 / N) * t.reduce((s, tm, m) => s + tm.reduce((u, w, j) => u + w * ti[j], 0) * z[m][k], 0))));
    expect(maxRelativeError(out.grads.p1 as Mat, gradThroughNormalisation(x.p1, G(t2, z1)))).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, gradThroughNormalisation(x.p2, G(t1, z2)))).toBeLessThan(1e-4);
  });

  it('no_mm equals mm with p*m = p*', () => {
    const a = run('barlow_twins', 'grad', 'no_mm', { p1: x.p1, p2: x.p2 });
    const b = run('barlow_twins', 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 });
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.grads.p2 as Mat, b.grads.p2 as Mat)).toBeLessThan(1e-6);
  });
});

describe('barlow_twins original (standardised cross-correlation, λ = 0.0051)', () => {
  it('value and gradients of both branches match an explicit-loop implementation', () => {
    const x = randomInputs(7, 4, 52);
    const out = run('barlow_twins', 'original', 'mm', { p1: x.p1, p2: x.p2 });
    expect(out.value).toBeCloseTo(barlowTwinsJs(x.p1, x.p2, 0.0051), 4);
    expect(maxRelativeError(out.grads.p1 as Mat, finiteDifferenceGrad((p) => barlowTwinsJs(p, x.p2, 0.0051), x.p1))).toBeLessThan(1e-3);
    expect(maxRelativeError(out.grads.p2 as Mat, finiteDifferenceGrad((p) => barlowTwinsJs(x.p1, p, 0.0051), x.p2))).toBeLessThan(1e-3);
  });
});

/** Our VICReg gradient choice: 0.5·[mean_i 2(−z1_i·t2_i + (λ/2N) Σ_m (z1_i·t1_m)²) + (1↔2)]. */
function vicregClosed(t1: Mat, t2: Mat, lambda: number, N: number) {
  return (p1: tf.Tensor2D, p2: tf.Tensor2D) => {
    const half = (z: tf.Tensor2D, own: Mat, other: Mat) =>
      tf.mean(tf.add(tf.neg(rowDot(z, c(other))), tf.sum(tf.square(tf.matMul(z, c(own), false, true)), 1, true).mul(lambda / (2 * N)))).mul(2);
    return tf.add(half(normalizeRows(p1), t1, t2), half(normalizeRows(p2), t2, t1)).mul(0.5) as tf.Scalar;
  };
}

describe('vicreg gradient form (same-view feature-decorrelation gradient, our documented choice)', () => {
  const x = randomInputs(6, 5, 53);
  it.each([undefined, 40])('gradient equals the closed form (wholeBatchSize %s)', (N) => {
    const out = run('vicreg', 'grad', 'mm', x, {}, { wholeBatchSize: N });
    const ref = closedForm(vicregClosed(normalizeRowsJs(x.p1m), normalizeRowsJs(x.p2m), 50, N ?? 6), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
  });

  it('no_mm equals mm with p*m = p*', () => {
    const a = run('vicreg', 'grad', 'no_mm', { p1: x.p1, p2: x.p2 });
    const b = run('vicreg', 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 });
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
  });
});

describe('vicreg original (25·MSE + 25·variance hinge + 1·covariance)', () => {
  it('value and gradients match an explicit-loop implementation, including custom coefficients', () => {
    // Small-scale outputs so that the variance hinge is active for some dimensions.
    const x = randomInputs(6, 4, 54);
    const p1 = x.p1.map((r) => r.map((v, j) => (j % 2 ? 0.3 : 1.5) * v));
    const p2 = x.p2;
    const out = run('vicreg', 'original', 'mm', { p1, p2 });
    expect(out.value).toBeCloseTo(vicregJs(p1, p2), 3);
    expect(maxRelativeError(out.grads.p1 as Mat, finiteDifferenceGrad((p) => vicregJs(p, p2), p1))).toBeLessThan(1e-3);
    expect(maxRelativeError(out.grads.p2 as Mat, finiteDifferenceGrad((p) => vicregJs(p1, p), p2))).toBeLessThan(1e-3);
    const custom = run('vicreg', 'original', 'mm', { p1, p2 }, {}, { simCoeff: 1, stdCoeff: 2, covCoeff: 3 });
    expect(custom.value).toBeCloseTo(vicregJs(p1, p2, 1, 2, 3), 4);
  });
});
