import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countElements } from './layers';
import { createPredictor, createProjector } from './mlp';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

describe('projector', () => {
  it('has 12,593,152 parameters at 2048/2048/2048 with the §7.1 layout', () => {
    const proj = createProjector({ inputDim: 2048, hiddenDim: 2048, outputDim: 2048 }, new Rng(0));
    try {
      // 3 · 2048² weights + 2048 output bias + 2 BN · (γ, β) · 2048.
      expect(countElements(proj.params)).toBe(12_593_152);
      expect([...proj.params.keys()]).toEqual(['0.weight', '1.weight', '1.bias', '3.weight', '4.weight', '4.bias', '6.weight', '6.bias']);
      expect([...proj.buffers.keys()]).toEqual(['1.running_mean', '1.running_var', '4.running_mean', '4.running_var']);
    } finally {
      proj.dispose();
    }
  });

  it('computes Linear → BN → ReLU → Linear → BN → ReLU → Linear+b with no BN or ReLU at the end', () => {
    const proj = createProjector({ inputDim: 5, hiddenDim: 6, outputDim: 3 }, new Rng(1));
    try {
      const x = tf.randomNormal([7, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
      const p = (k: string) => proj.params.get(k)!;
      const bn = (h: tf.Tensor, i: number) => {
        const { mean, variance } = tf.moments(h, 0);
        return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), p(`${i}.weight`)), p(`${i}.bias`));
      };
      let h: tf.Tensor = tf.relu(bn(tf.matMul(x, p('0.weight') as tf.Tensor2D), 1));
      h = tf.relu(bn(tf.matMul(h as tf.Tensor2D, p('3.weight') as tf.Tensor2D), 4));
      const expected = tf.add(tf.matMul(h as tf.Tensor2D, p('6.weight') as tf.Tensor2D), p('6.bias'));
      const y = proj.apply(x, 'train');
      expect(y.shape).toEqual([7, 3]);
      const diff = tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0];
      expect(diff).toBeLessThan(1e-5);
      // The output can be negative (no final ReLU).
      expect(y.min().dataSync()[0]).toBeLessThan(0);
    } finally {
      proj.dispose();
    }
  });
});

describe('predictor', () => {
  it('is Linear(no bias) → BN → ReLU → Linear with bias, with a configurable bottleneck', () => {
    const pred = createPredictor({ inputDim: 2048, hiddenDim: 512, outputDim: 2048 }, new Rng(0));
    try {
      expect([...pred.params.keys()]).toEqual(['0.weight', '1.weight', '1.bias', '3.weight', '3.bias']);
      // SimSiam's predictor: 2048·512 + 2·512 + 512·2048 + 2048.
      expect(countElements(pred.params)).toBe(2048 * 512 + 2 * 512 + 512 * 2048 + 2048);
      expect(pred.apply(tf.randomNormal([4, 2048]), 'train').shape).toEqual([4, 2048]);
    } finally {
      pred.dispose();
    }
  });

  it('rejects bad dims', () => {
    expect(() => createPredictor({ inputDim: 8, hiddenDim: 0, outputDim: 8 }, new Rng(0))).toThrow(/positive integers/);
    expect(() => createProjector({ inputDim: 8, hiddenDim: 4.5, outputDim: 8 }, new Rng(0))).toThrow(/positive integers/);
  });
});
