// The native TensorFlow backend's paths of layers.ts (FusedBatchNormV3/its gradient and running statistics, ReluGrad, the 2x2 max-pool gradient), checked against
// TF.js autodiff of the plain formulas on the same backend. Skipped where tfjs-node is not installed
// (`npm run setup:native` installs it).
import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng, relativeError as relativeErrorOf } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, batchNormTrain, createBatchNorm, maxPool2x2, relu, VariableStore } from './layers';

// Skipped, with the reason in the suite's name, where tfjs-node is not installed or its binding does not load (CI
// tolerates a failed `npm run setup:native`); where it loads, a backend that then fails to initialise fails the tests.
const nativeUnavailable = ((): string | undefined => {
  try {
    require('@tensorflow/tfjs-node');
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
})();
beforeAll(async () => {
  if (nativeUnavailable) return;
  await initBackend({ force: 'node', log: false });
  expect(tf.getBackend()).toBe('tensorflow');
});

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  const rng = new Rng(seed);
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = shift + scale * rng.normal();
  return tf.tensor(v, shape);
}

function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  return relativeErrorOf(actual.dataSync(), expected.dataSync());
}

describe.skipIf(nativeUnavailable !== undefined)(`native TensorFlow backend paths${nativeUnavailable ? ` (skipped: ${nativeUnavailable}; \`npm run setup:native\`)` : ''}`, () => {
  for (const shape of [
    [6, 5, 4, 3],
    [32, 3],
  ]) {
    it(`FusedBatchNormV3 train mode on [${shape}]: values, statistics and gradients equal the plain formula`, () => {
      const axes = shape.length === 4 ? [0, 1, 2] : [0];
      const x = randomTensor(shape, 11, 3, 5);
      const gamma = tf.tensor1d([1.5, -0.5, 2]);
      const beta = tf.tensor1d([0.1, -0.2, 0.3]);
      const w = randomTensor(shape, 12);
      const plain = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const mean = tf.mean(xx, axes);
        const variance = tf.mean(tf.square(tf.sub(xx, mean)), axes);
        return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      const custom = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const r = batchNormTrain(xx, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
        tf.dispose([r.mean, r.variance]);
        return r.y;
      };
      const loss = (f: typeof plain) => (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xx, g, b), w));
      const expected = tf.grads(loss(plain))([x, gamma, beta]);
      const actual = tf.grads(loss(custom))([x, gamma, beta]);
      for (let i = 0; i < 3; i++) expect(relativeError(actual[i], expected[i]), `gradient ${i}`).toBeLessThanOrEqual(1e-5);
      const r = batchNormTrain(x, gamma, beta, 1e-5);
      expect(r.y.shape).toEqual(shape);
      expect(relativeError(r.y, plain(x, gamma, beta))).toBeLessThanOrEqual(1e-5);
      const m = tf.moments(x, axes);
      expect(relativeError(r.mean, m.mean)).toBeLessThanOrEqual(1e-6);
      expect(relativeError(r.variance, m.variance)).toBeLessThanOrEqual(1e-5); // biased, as PyTorch normalises with
    });
  }

  it('running statistics: momentum 0.1, unbiased variance (PyTorch), as on the cpu backend', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 3);
    const x = randomTensor([10, 3], 5, 2, 1);
    batchNorm(x, bn, 'train').dispose();
    const m = tf.moments(x, [0]);
    const unbiased = tf.mul(m.variance, 10 / 9);
    expect(relativeError(bn.runningMean, tf.mul(m.mean, 0.1))).toBeLessThanOrEqual(1e-6);
    expect(relativeError(bn.runningVar, tf.add(tf.mul(unbiased, 0.1), 0.9))).toBeLessThanOrEqual(1e-6);
  });

  for (const shape of [
    [16, 6, 6, 5],
    [40, 7],
  ]) {
    it(`running statistics folded into FusedBatchNormV3 on [${shape}]: output and running mean bit-identical to the separate update, running var within a few ulp`, () => {
      const c = shape[shape.length - 1];
      const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', c);
      const count = shape.reduce((a, b) => a * b, 1) / c;
      let refMean = tf.zeros([c]);
      let refVar = tf.ones([c]);
      for (let step = 0; step < 3; step++) {
        const x = randomTensor(shape, 30 + step, 2, step);
        const { y, mean, variance } = batchNormTrain(x, bn.gamma as tf.Tensor1D, bn.beta as tf.Tensor1D, bn.eps);
        // The update as the generic path writes it (and as this path did before the fold).
        refMean = tf.add(tf.mul(refMean, 1 - bn.momentum), tf.mul(mean, bn.momentum));
        refVar = tf.add(tf.mul(refVar, 1 - bn.momentum), tf.mul(variance, (bn.momentum * count) / (count - 1)));
        const out = batchNorm(x, bn, 'train');
        expect(Array.from(out.dataSync())).toEqual(Array.from(y.dataSync()));
        expect(Array.from(bn.runningMean.dataSync())).toEqual(Array.from(refMean.dataSync()));
        // TF scales the variance by float32(m)·float32(N/(N−1)), the separate update by float32(m·N/(N−1)): 1 ulp apart per update.
        expect(relativeError(bn.runningVar, refVar)).toBeLessThanOrEqual(2 ** -21); // a few ulp after three updates
      }
    });
  }

  it('relu with ReluGrad equals tf.relu and its gradient', () => {
    const x = randomTensor([4, 3, 3, 2], 7);
    const w = randomTensor([4, 3, 3, 2], 8);
    const f = (ours: boolean) => (xx: tf.Tensor) => tf.sum(tf.mul(ours ? relu(xx) : tf.relu(xx), w));
    expect(relativeError(tf.grad(f(true))(x), tf.grad(f(false))(x))).toBe(0);
  });

  for (const shape of [
    [3, 6, 8, 5],
    [2, 7, 5, 3],
    [4, 28, 28, 16],
  ]) {
    it(`maxPool2x2 on [${shape}]: values and gradient bit-identical to tf.maxPool's (MaxPoolGrad), ties included`, () => {
      // Half the inputs exactly 0 and some windows all equal: the tie-break must be MaxPoolGrad's (first maximum).
      const raw = randomTensor(shape, 21);
      const x = tf.tidy(() => tf.where(tf.greater(randomTensor(shape, 22), 0), raw, tf.zerosLike(raw))) as tf.Tensor4D;
      const pooled = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), shape[3]];
      const w = randomTensor(pooled, 23);
      const f = (ours: boolean) => (xx: tf.Tensor) => tf.sum(tf.mul(ours ? maxPool2x2(xx as tf.Tensor4D) : tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid'), w));
      expect(Array.from(maxPool2x2(x).dataSync())).toEqual(Array.from(tf.maxPool(x, 2, 2, 'valid').dataSync()));
      const ours = tf.grad(f(true))(x).dataSync();
      const stock = tf.grad(f(false))(x).dataSync();
      expect(ours.length).toBe(stock.length);
      let differing = 0;
      for (let i = 0; i < ours.length; i++) if (!Object.is(ours[i], stock[i])) differing++;
      expect(differing).toBe(0);
      // Equal windows: exactly one element per window gets the gradient.
      expect(ours.filter((v) => v !== 0).length).toBeLessThanOrEqual(pooled.reduce((a, b) => a * b, 1));
    });
  }

  it('leaves no tensors behind', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 3);
    const x = randomTensor([4, 3, 3, 3], 13);
    tf.dispose(batchNorm(x, bn, 'train'));
    const before = tf.memory().numTensors;
    tf.dispose(batchNorm(x, bn, 'train'));
    const { value, grads } = tf.variableGrads(() => tf.sum(relu(maxPool2x2(batchNorm(x as tf.Tensor4D, bn, 'train')))) as tf.Scalar, [bn.gamma, bn.beta]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
