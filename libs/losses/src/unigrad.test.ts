import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeRows, rowDot, targetCorrelation, updateF } from './common';
import { mixTargets } from './cutmix';
import { add, correlationJs, maxRelativeError, normalizeRowsJs, scale, type Mat } from './js-reference';
import { c, closedForm, randomInputs, run } from './test-support';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** Spec §3.1 closed form: 0.5·[mean(−z1·a2 + (λ/2) z1ᵀFz1) + (1↔2)], F and the positives a constant. */
function uniGradClosed(F: Mat, pos1: Mat, pos2: Mat, lambda: number) {
  return (p1: tf.Tensor2D, p2: tf.Tensor2D) => {
    const term = (z: tf.Tensor2D, pos: Mat) => tf.mean(tf.add(tf.neg(rowDot(z, c(pos))), rowDot(tf.matMul(z, c(F)), z).mul(lambda / 2)));
    return tf.add(term(normalizeRows(p1), pos2), term(normalizeRows(p2), pos1)).mul(0.5) as tf.Scalar;
  };
}

describe('unigrad gradient form', () => {
  const x = randomInputs(6, 5, 11);
  const t1 = normalizeRowsJs(x.p1m);
  const t2 = normalizeRowsJs(x.p2m);
  const T = correlationJs(t1, t2);

  it('first step: F := batch target correlation, gradient = closed form (spec §3.1)', () => {
    const out = run('unigrad', 'grad', 'mm', x);
    expect(maxRelativeError(out.state.F as Mat, T)).toBeLessThan(1e-5);
    const ref = closedForm(uniGradClosed(T, t1, t2, 100), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
  });

  it('with state: F := ρF + (1−ρ)T is updated before use', () => {
    const previous = correlationJs(normalizeRowsJs(x.q1), normalizeRowsJs(x.q2));
    const rho = 0.9;
    const out = run('unigrad', 'grad', 'mm', x, { F: previous }, { lambda: 30, rho });
    const expectedF = add(scale(previous, rho), scale(T, 1 - rho));
    expect(maxRelativeError(out.state.F as Mat, expectedF)).toBeLessThan(1e-5);
    const ref = closedForm(uniGradClosed(expectedF, t1, t2, 30), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
  });

  it('logs posSim = 0.5·(mean z1·z2m + mean z2·z1m)', () => {
    const [z1, z2] = [normalizeRowsJs(x.p1), normalizeRowsJs(x.p2)];
    const mean = (a: Mat, b: Mat) => a.reduce((s, r, i) => s + r.reduce((u, v, j) => u + v * b[i][j], 0), 0) / a.length;
    expect(run('unigrad', 'grad', 'mm', x).posSim).toBeCloseTo(0.5 * (mean(z1, t2) + mean(z2, t1)), 5);
  });

  it('no_mm equals mm when the target outputs equal the online outputs', () => {
    const a = run('unigrad', 'grad', 'no_mm', { p1: x.p1, p2: x.p2 });
    const b = run('unigrad', 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 });
    expect(a.value).toBeCloseTo(b.value, 5);
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.state.F as Mat, b.state.F as Mat)).toBeLessThan(1e-6);
  });

  it('rejects mm without target outputs and a wrongly shaped F', () => {
    expect(() => run('unigrad', 'grad', 'mm', { p1: x.p1, p2: x.p2 })).toThrow(/p1m is missing/);
    expect(() => run('unigrad', 'grad', 'mm', x, { F: [[1]] })).toThrow(/state.F must be 5×5/);
    expect(() => run('unigrad', 'original', 'mm', x)).toThrow(/no original loss/);
  });

  it('F helpers: first call copies T, later calls blend, trace(T) = 1', () => {
    const [F0, F1, trace] = tf.tidy(() => {
      const Tt = targetCorrelation(c(t1), c(t2));
      const first = updateF(undefined, Tt, 0.99);
      const second = updateF(first, c(correlationJs(t2, t2)), 0.5);
      return [first.arraySync(), second.arraySync(), tf.sum(tf.mul(Tt, tf.eye(5))).dataSync()[0]];
    });
    expect(maxRelativeError(F0, T)).toBeLessThan(1e-6);
    expect(maxRelativeError(F1, add(scale(T, 0.5), scale(correlationJs(t2, t2), 0.5)))).toBeLessThan(1e-6);
    expect(trace).toBeCloseTo(1, 6);
  });
});

describe('unigrad + CutMix (mixedPositives)', () => {
  const x = randomInputs(5, 4, 12);
  const t1 = normalizeRowsJs(x.p1m);
  const t2 = normalizeRowsJs(x.p2m);
  const perm = new Int32Array([3, 0, 4, 1, 2]);

  function withMix(lam: Float32Array) {
    // Online view 1's positive is view 2's target mixed like view 1 (here both views share one draw).
    const mixed = tf.tidy(() => [mixTargets(c(t2), perm, lam).arraySync(), mixTargets(c(t1), perm, lam).arraySync()]);
    const inputs = { p1: c(x.p1), p2: c(x.p2), p1m: c(x.p1m), p2m: c(x.p2m), mixedPositives: { forView1: c(mixed[0]), forView2: c(mixed[1]) } };
    return { mixed, inputs };
  }

  it('mixTargets gives the unit vector along lam_i·zt_i + (1 − lam_i)·zt_perm(i)', () => {
    const lam = new Float32Array([1, 0, 0.25, 0.5, 0.75]);
    const got = tf.tidy(() => mixTargets(c(t1), perm, lam).arraySync());
    const expected = normalizeRowsJs(t1.map((r, i) => r.map((v, j) => lam[i] * v + (1 - lam[i]) * t1[perm[i]][j])));
    for (const row of got) expect(Math.hypot(...row)).toBeCloseTo(1, 6);
    expect(maxRelativeError(got, expected)).toBeLessThan(1e-6);
    expect(() => mixTargets(c(t1), new Int32Array([0, 1]), lam)).toThrow(/one entry per row/);
    expect(() => mixTargets(c(t1), new Int32Array([0, 1, 2, 3, 9]), lam)).toThrow(/perm\[4\] = 9/);
  });

  it('with lam = 1 it equals plain UniGrad', async () => {
    const { evaluateWithInputGradients } = await import('./evaluate');
    const { getMethod } = await import('./registry');
    const { inputs } = withMix(new Float32Array(5).fill(1));
    const mixedOut = evaluateWithInputGradients(getMethod('unigrad'), 'grad', 'mm', inputs);
    const plain = run('unigrad', 'grad', 'mm', x);
    expect(mixedOut.value).toBeCloseTo(plain.value, 5);
    expect(maxRelativeError(mixedOut.grads.p1 as Mat, plain.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(mixedOut.grads.p2 as Mat, plain.grads.p2 as Mat)).toBeLessThan(1e-6);
  });

  it('with mixed positives the gradient is the closed form with those positives (F from unmixed targets)', async () => {
    const { evaluateWithInputGradients } = await import('./evaluate');
    const { getMethod } = await import('./registry');
    const { mixed, inputs } = withMix(new Float32Array([0.9, 0.3, 0.6, 0.1, 0.5]));
    const out = evaluateWithInputGradients(getMethod('unigrad'), 'grad', 'mm', inputs);
    const ref = closedForm(uniGradClosed(correlationJs(t1, t2), mixed[1], mixed[0], 100), x.p1, x.p2);
    expect(maxRelativeError(out.grads.p1 as Mat, ref.g1)).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, ref.g2)).toBeLessThan(1e-4);
    expect(() => run('simclr', 'grad', 'mm', x) && evaluateWithInputGradients(getMethod('simclr'), 'grad', 'mm', inputs)).toThrow(/only supported by the unigrad/);
  });
});
