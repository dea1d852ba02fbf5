import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { FeatureSet } from './batches';
import { evaluateLogistic, fitLogisticRegression, logisticScores } from './logistic';
import { clusters } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** J(W, b) = mean CE + (l2/2)‖W‖² and its gradient, in float64 plain JS (θ = [W row-major [d, C], b]). */
function reference(set: FeatureSet, numClasses: number, l2: number, theta: Float64Array): { value: number; grad: Float64Array } {
  const { dim, count } = set;
  const nw = dim * numClasses;
  const grad = new Float64Array(theta.length);
  let value = 0;
  const z = new Float64Array(numClasses);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < numClasses; c++) {
      let s = theta[nw + c];
      for (let d = 0; d < dim; d++) s += set.features[i * dim + d] * theta[d * numClasses + c];
      z[c] = s;
    }
    const max = Math.max(...z);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp(z[c] - max);
    const lse = max + Math.log(sum);
    value += lse - z[set.labels[i]];
    for (let c = 0; c < numClasses; c++) {
      const r = (Math.exp(z[c] - lse) - (c === set.labels[i] ? 1 : 0)) / count;
      grad[nw + c] += r;
      for (let d = 0; d < dim; d++) grad[d * numClasses + c] += set.features[i * dim + d] * r;
    }
  }
  value /= count;
  for (let j = 0; j < nw; j++) {
    value += 0.5 * l2 * theta[j] * theta[j];
    grad[j] += l2 * theta[j];
  }
  return { value, grad };
}

const maxAbs = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

// Three overlapping classes in 4-d: not separable, so the optimum is finite even without a penalty.
const CENTRES = [
  [1, 0, 0, 0.5],
  [0, 1, 0, -0.5],
  [0, 0, 1, 0],
];

describe('fitLogisticRegression', () => {
  const train = clusters(CENTRES, 30, 1.5, 5);
  const l2 = 1e-2;

  it('reaches the optimum found by 20k float64 gradient-descent steps (same loss, same weights, zero gradient)', () => {
    // Reference: plain gradient descent in float64 with step 1/L, L ≥ the Hessian's largest eigenvalue
    // (‖[X 1]‖_F²/n bounds the data term, since softmax's Hessian in the logits is ≤ I).
    let frob = 0;
    for (let i = 0; i < train.count; i++) {
      frob += 1;
      for (let d = 0; d < train.dim; d++) frob += train.features[i * train.dim + d] ** 2;
    }
    const step = 1 / (frob / train.count + l2);
    const theta = new Float64Array(train.dim * 3 + 3);
    for (let k = 0; k < 20000; k++) {
      const { grad } = reference(train, 3, l2, theta);
      for (let j = 0; j < theta.length; j++) theta[j] -= step * grad[j];
    }
    const ref = reference(train, 3, l2, theta);
    expect(maxAbs(ref.grad)).toBeLessThan(1e-9); // the reference is converged

    const before = tf.memory().numTensors;
    const fit = fitLogisticRegression(train, { numClasses: 3, l2, gradTol: 1e-6 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fit.converged).toBe(true);
    const solution = Float64Array.from([...fit.model.weight, ...fit.model.bias]);
    const atSolution = reference(train, 3, l2, solution);
    expect(atSolution.value).toBeLessThanOrEqual(ref.value + 1e-7);
    expect(Math.abs(fit.trainLoss - atSolution.value)).toBeLessThan(1e-6); // the reported loss is the objective
    expect(maxAbs(atSolution.grad)).toBeLessThan(1e-5); // stationary in float64 too
    solution.forEach((v, j) => expect(v).toBeCloseTo(theta[j], 3));
    expect(fit.iterations).toBeLessThan(100);
    // tfjs computes in float32: near the optimum the loss decrease of a step (~‖∇J‖²/(2·l2)) reaches the rounding of
    // the per-row losses at ‖∇J‖∞ ≈ 1e-5, and the relative-loss tolerance stops the fit there.
    expect(fit.gradNorm).toBeLessThan(2e-5);
  });

  it('does not penalise the bias: with a huge l2 the weights vanish and the bias gives the class log-frequencies', () => {
    const labels = Int32Array.from({ length: 40 }, (_, i) => (i < 30 ? 0 : 1));
    const set = { features: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), labels, count: 40, dim: 1 };
    const fit = fitLogisticRegression(set, { numClasses: 2, l2: 1e6, gradTol: 1e-7 });
    expect(maxAbs(fit.model.weight)).toBeLessThan(1e-5);
    expect(fit.model.bias[0] - fit.model.bias[1]).toBeCloseTo(Math.log(30 / 10), 4);
  });

  it('classifies a linearly separable set perfectly, on train and on fresh points', () => {
    const far = [
      [6, 0],
      [0, 6],
      [-6, 0],
      [0, -6],
    ];
    const sep = clusters(far, 25, 1, 7);
    const fresh = clusters(far, 25, 1, 8);
    const fit = fitLogisticRegression(sep, { numClasses: 4, l2: 1e-4 });
    expect(evaluateLogistic(fit.model, sep).top1).toBe(1);
    expect(evaluateLogistic(fit.model, fresh).top1).toBe(1);
  });

  it('a warm start reaches the same optimum (l2 > 0) in fewer iterations', () => {
    const cold = fitLogisticRegression(train, { numClasses: 3, l2, gradTol: 1e-6 });
    const warm = fitLogisticRegression(train, { numClasses: 3, l2, gradTol: 1e-6, init: cold.model });
    expect(warm.iterations).toBeLessThan(3);
    warm.model.weight.forEach((v, j) => expect(v).toBeCloseTo(cold.model.weight[j], 4));
  });

  it('scores in chunks exactly as one matrix product, standardising rows on the fly when given statistics', () => {
    const fit = fitLogisticRegression(train, { numClasses: 3, l2 });
    const whole = logisticScores(fit.model, train);
    const chunked = logisticScores(fit.model, train, null, 7);
    chunked.forEach((v, i) => expect(v).toBeCloseTo(whole[i], 5));
    const shifted = { ...train, features: train.features.map((v) => 2 * v + 1) };
    const undo = { dim: 4, mean: new Float64Array(4).fill(1), std: new Float64Array(4).fill(2), scale: new Float64Array(4).fill(2), constantDims: [] };
    logisticScores(fit.model, shifted, undo).forEach((v, i) => expect(v).toBeCloseTo(whole[i], 4));
  });

  it('rejects bad options', () => {
    expect(() => fitLogisticRegression(train, { numClasses: 2 })).toThrow(/label 2/);
    expect(() => fitLogisticRegression(train, { numClasses: 3, l2: -1 })).toThrow(/l2/);
  });
});
