import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import { LARS, isBiasOrNormParam } from './lars';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** apex LARC on one parameter, written out in plain numbers. */
function larcGrad(theta: number[], g: number[], trust: number, wd: number, eps = 1e-8): number[] {
  const pn = norm(theta);
  const gn = norm(g);
  if (pn === 0 || gn === 0) return g;
  const factor = (trust * pn) / (gn + pn * wd + eps);
  return g.map((gi, i) => (gi + wd * theta[i]) * factor);
}

// float32 parameters of magnitude ≤ 3: 5e-7 is a few ulps, far below the size of the steps being checked.
function expectClose(actual: ArrayLike<number>, expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, digits));
}

describe('LARS (apex LARC semantics)', () => {
  it('scales by trust·‖θ‖/(‖g‖ + ‖θ‖·wd + eps) and gives the zero-norm bias a raw first step', () => {
    const weightInit = [0.2, -0.1, 0.05, 0.3];
    const w = tf.variable(tf.tensor2d(weightInit, [2, 2]));
    const b = tf.variable(tf.zeros([2]));
    const params = new Map<string, tf.Variable>([
      ['fc.weight', w],
      ['fc.bias', b],
    ]);
    const opt = new LARS({ momentum: 0.9, weightDecay: 0, trustCoefficient: 0.001 });
    const lr = 1.6;
    const gW = [[1, -2, 0.5, 3], [-0.5, 1, 2, -1]];
    const gB = [[0.4, -0.3], [1, 2]];

    // Step 1. Weight: scaled; bias: ‖θ‖ = 0, so the raw gradient (a plain SGD step).
    let thetaW = weightInit.slice();
    let thetaB = [0, 0];
    const dW1 = larcGrad(thetaW, gW[0], 0.001, 0);
    // By hand: ‖g‖ = √14.25 = 10·‖θ‖ (‖θ‖ = √0.1425), so the LARC ratio is 0.001·‖θ‖/‖g‖ = 1e-4 and dW = 1e-4·g.
    expect(Math.hypot(...gW[0]) / Math.hypot(...weightInit)).toBeCloseTo(10, 12);
    dW1.forEach((d, i) => expect(d).toBeCloseTo(1e-4 * gW[0][i], 10));
    const dB1 = gB[0];
    let g = { 'fc.weight': tf.tensor2d(gW[0], [2, 2]), 'fc.bias': tf.tensor1d(gB[0]) };
    opt.step(params, g, lr);
    tf.dispose(Object.values(g));
    thetaW = thetaW.map((t, i) => t - lr * dW1[i]);
    thetaB = thetaB.map((t, i) => t - lr * dB1[i]);
    const deltaW1 = Array.from(w.dataSync()).map((t, i) => t - weightInit[i]);
    deltaW1.forEach((d, i) => expect(d / (-lr * dW1[i])).toBeCloseTo(1, 3)); // the step itself, to 0.1%
    expectClose(w.dataSync(), thetaW);
    expectClose(b.dataSync(), thetaB); // = −1.6·[0.4, −0.3]: the unscaled step
    expectClose(b.dataSync(), [-0.64, 0.48]);

    // Step 2. Both now have non-zero norms: both scaled; momentum carries the step-1 buffers.
    const dW2 = larcGrad(thetaW, gW[1], 0.001, 0);
    const dB2 = larcGrad(thetaB, gB[1], 0.001, 0);
    g = { 'fc.weight': tf.tensor2d(gW[1], [2, 2]), 'fc.bias': tf.tensor1d(gB[1]) };
    opt.step(params, g, lr);
    tf.dispose(Object.values(g));
    const bufW = dW1.map((d, i) => 0.9 * d + dW2[i]);
    const bufB = dB1.map((d, i) => 0.9 * d + dB2[i]);
    expectClose(w.dataSync(), thetaW.map((t, i) => t - lr * bufW[i]));
    expectClose(b.dataSync(), thetaB.map((t, i) => t - lr * bufB[i]));
    opt.dispose();
    tf.dispose([w, b]);
  });

  it('folds weight decay in as apex does (scaled together with the gradient)', () => {
    const theta = [1, 2, -2];
    const grad = [0.3, 0, -0.4];
    const v = tf.variable(tf.tensor1d(theta));
    const opt = new LARS({ momentum: 0.9, weightDecay: 0.1, trustCoefficient: 0.02 });
    const g = tf.tensor1d(grad);
    opt.step(new Map([['v', v]]), { v: g }, 0.5);
    // ‖θ‖ = 3, ‖g‖ = 0.5: factor = 0.02·3/(0.5 + 0.3 + 1e-8) = 0.075; d = (g + 0.1θ)·0.075.
    const d = [0.4 * 0.075, 0.2 * 0.075, -0.6 * 0.075];
    expectClose(v.dataSync(), theta.map((t, i) => t - 0.5 * d[i]));
    expectClose(v.dataSync(), larcGrad(theta, grad, 0.02, 0.1).map((di, i) => theta[i] - 0.5 * di));
    opt.dispose();
    tf.dispose([v, g]);
  });

  it('with clip, caps lr·factor at lr', () => {
    const v = tf.variable(tf.tensor1d([3, 4])); // ‖θ‖ = 5
    const g = tf.tensor1d([0.006, 0.008]); // ‖g‖ = 0.01 → factor = 1·5/0.01 = 500 ≫ 1/lr
    const opt = new LARS({ momentum: 0, trustCoefficient: 1, clip: true });
    opt.step(new Map([['v', v]]), { v: g }, 0.1);
    // factor/lr = 5000 → min(…, 1) = 1: a plain SGD step.
    expectClose(v.dataSync(), [3 - 0.1 * 0.006, 4 - 0.1 * 0.008]);
    opt.dispose();
    tf.dispose([v, g]);
  });

  it('the excluding variant gives biases and norm parameters a raw step without weight decay', () => {
    const w = tf.variable(tf.tensor2d([1, 0, 0, 1], [2, 2]));
    const gamma = tf.variable(tf.tensor1d([1, 1]));
    const params = new Map<string, tf.Variable>([
      ['conv.weight', w],
      ['bn.weight', gamma],
    ]);
    const opt = new LARS({ momentum: 0.9, weightDecay: 0.5, trustCoefficient: 0.001, exclude: isBiasOrNormParam });
    const gWv = [0.1, 0.2, 0.3, 0.4];
    const g = { 'conv.weight': tf.tensor2d(gWv, [2, 2]), 'bn.weight': tf.tensor1d([0.5, -0.5]) };
    opt.step(params, g, 0.1);
    expectClose(gamma.dataSync(), [1 - 0.05, 1 + 0.05]);
    const dW = larcGrad([1, 0, 0, 1], gWv, 0.001, 0.5);
    expectClose(w.dataSync(), [1, 0, 0, 1].map((t, i) => t - 0.1 * dW[i]));
    tf.dispose([...Object.values(g), w, gamma]);
    opt.dispose();
  });

  it('keeps the live tensor count constant across steps', () => {
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.randomNormal([16, 10]))],
      ['b', tf.variable(tf.zeros([10]))],
    ]);
    const grads = new Map<string, tf.Tensor>([
      ['w', tf.randomNormal([16, 10])],
      ['b', tf.randomNormal([10])],
    ]);
    const opt = new LARS({ exclude: isBiasOrNormParam, weightDecay: 1e-4 });
    opt.step(params, grads, 1);
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) opt.step(params, grads, 1);
    expect(tf.memory().numTensors).toBe(after1);
    opt.dispose();
    tf.dispose([...params.values(), ...grads.values()]);
  });
});
