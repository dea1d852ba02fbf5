import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeRows } from './common';
import { finiteDifferenceGrad, maxRelativeError, normalizeRowsJs, ntXentJs, type Mat } from './js-reference';
import { c, closedForm, randomInputs, run } from './test-support';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** Spec §3.2: symmetric InfoNCE with the 2n constant targets K = [T1; T2] as candidates, positive at n + i / i. */
function infoNceWithTargets(t1: Mat, t2: Mat, tau: number) {
  const n = t1.length;
  return (p1: tf.Tensor2D, p2: tf.Tensor2D) => {
    const K = c([...t1, ...t2]);
    const direction = (z: tf.Tensor2D, offset: number) => {
      const logProb = tf.logSoftmax(tf.matMul(z, K, false, true).div(tau));
      const pick = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => offset + i), 'int32'), 2 * n);
      return tf.neg(tf.mean(tf.sum(tf.mul(logProb, pick), 1)));
    };
    return tf.add(direction(normalizeRows(p1), n), direction(normalizeRows(p2), 0)).mul(0.5) as tf.Scalar;
  };
}

describe('simclr gradient form', () => {
  const x = randomInputs(6, 5, 21);

  it.each([0.2, 0.5])('mm: autodiff gradient equals the symmetric InfoNCE with target candidates (τ = %s)', (tau) => {
    const out = run('simclr', 'grad', 'mm', x, {}, { tau });
    const ref = closedForm(infoNceWithTargets(normalizeRowsJs(x.p1m), normalizeRowsJs(x.p2m), tau), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
  });

  it('no_mm: candidates are the stop-gradient online embeddings, and equal mm with p*m = p*', () => {
    const a = run('simclr', 'grad', 'no_mm', { p1: x.p1, p2: x.p2 });
    const b = run('simclr', 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 });
    const ref = closedForm(infoNceWithTargets(normalizeRowsJs(x.p1), normalizeRowsJs(x.p2), 0.2), x.p1, x.p2);
    expect(maxRelativeError(a.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.grads.p2 as Mat, b.grads.p2 as Mat)).toBeLessThan(1e-6);
  });

  it("includes the anchor's own-view target among the candidates (n = 1 would otherwise give a zero gradient)", () => {
    const one = { p1: [x.p1[0]], p2: [x.p2[0]], p1m: [x.p1m[0]], p2m: [x.p2m[0]] };
    const out = run('simclr', 'grad', 'mm', one);
    const [z1, z2, t1, t2] = [one.p1, one.p2, one.p1m, one.p2m].map((m) => normalizeRowsJs(m)[0]);
    // Direction 1: softmax over {t1, t2}; G1 = (−t2 + s_t1 t1 + s_t2 t2)/τ = s_t1 (t1 − t2)/τ.
    const tau = 0.2;
    const G = (z: number[], own: number[], pos: number[]) => {
      const a = Math.exp(z.reduce((s, v, i) => s + v * own[i], 0) / tau);
      const b = Math.exp(z.reduce((s, v, i) => s + v * pos[i], 0) / tau);
      return own.map((v, i) => ((a / (a + b)) * (v - pos[i])) / tau);
    };
    const gradP = (p: number[], z: number[], g: number[]) => {
      const r = Math.hypot(...p);
      const gz = g.reduce((s, v, i) => s + v * z[i], 0);
      return g.map((v, i) => (v - gz * z[i]) / (2 * r));
    };
    expect(maxRelativeError(out.grads.p1 as Mat, [gradP(one.p1[0], z1, G(z1, t1, t2))])).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, [gradP(one.p2[0], z2, G(z2, t2, t1))])).toBeLessThan(1e-4);
    expect(Math.max(...(out.grads.p1 as Mat)[0].map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('simclr original (NT-Xent over the 2N online embeddings)', () => {
  const x = randomInputs(5, 4, 22);
  it('value and gradients match an explicit-loop implementation', () => {
    const out = run('simclr', 'original', 'mm', { p1: x.p1, p2: x.p2 }, {}, { tau: 0.3 });
    expect(out.value).toBeCloseTo(ntXentJs(x.p1, x.p2, 0.3), 4);
    const g1 = finiteDifferenceGrad((p) => ntXentJs(p, x.p2, 0.3), x.p1);
    const g2 = finiteDifferenceGrad((p) => ntXentJs(x.p1, p, 0.3), x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, g2)).toBeLessThan(1e-4);
  });
});
