import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { constant, normalizeRows, stopGradient } from './common';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

describe('stopGradient and constant', () => {
  it('pass values through and block the gradient', () => {
    const x = tf.tensor2d([[1, 2], [3, -1]]);
    // d/dx sum(x * sg(x)) = sg(x) = x, whereas without sg it would be 2x.
    const viaStop = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, stopGradient(a))))(x).arraySync();
    const viaConstant = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, constant(() => a.mul(1)))))(x).arraySync();
    expect(viaStop).toEqual(x.arraySync());
    expect(viaConstant).toEqual(x.arraySync());
  });

  it('normalizeRows divides by max(‖p‖, 1e-12)', () => {
    const [a, b] = normalizeRows(tf.tensor2d([[3, 4], [0, 0]])).arraySync();
    expect(a[0]).toBeCloseTo(0.6, 7);
    expect(a[1]).toBeCloseTo(0.8, 7);
    expect(b).toEqual([0, 0]);
  });
});
