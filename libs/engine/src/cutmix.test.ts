import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCutMix, drawCutMix } from './cutmix';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

describe('CutMix', () => {
  it('λ equals the fraction of each image that stays its own', async () => {
    const n = 16;
    const size = 12;
    // Image i is constant i, so each output pixel says where it came from.
    const images = tf.tidy(() => tf.range(0, n).reshape([n, 1, 1, 1]).tile([1, size, size, 1]) as tf.Tensor4D);
    const draw = drawCutMix(n, size, size, new Rng(5));
    const mixed = applyCutMix(images, draw);
    const pixels = await mixed.data();
    for (let i = 0; i < n; i++) {
      let own = 0;
      for (let p = 0; p < size * size; p++) {
        const v = pixels[i * size * size + p];
        expect([i, draw.perm[i]]).toContain(v);
        if (v === i) own++;
      }
      expect(own / (size * size)).toBeCloseTo(draw.lam[i], 6);
    }
    tf.dispose([images, mixed]);
  });

  it('λ is spread over (0, 1] and the permutation is a permutation', () => {
    const draw = drawCutMix(2000, 28, 28, new Rng(9));
    const mean = draw.lam.reduce((a, b) => a + b, 0) / draw.lam.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.75);
    expect(Math.min(...draw.lam)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draw.lam)).toBeLessThanOrEqual(1);
    expect([...draw.perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('is reproducible for a seed', () => {
    const a = drawCutMix(8, 28, 28, new Rng(1));
    const b = drawCutMix(8, 28, 28, new Rng(1));
    expect(Array.from(a.boxes)).toEqual(Array.from(b.boxes));
  });
});
