import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@unigrad/configs';
import { normalizeRows } from '@unigrad/losses';
import { applyCutMix, cutmixPositives, drawCutMix } from './cutmix';
import { buildTraining, disposeTraining } from './setup';
import { disposeState, trainStep } from './step';

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

  it("online view 1's positive is view 2's unit target mixed with view 1's draw (and vice versa)", async () => {
    const n = 6;
    const p1m = tf.randomNormal([n, 5], 0, 3, 'float32', 1) as tf.Tensor2D;
    const p2m = tf.randomNormal([n, 5], 0, 3, 'float32', 2) as tf.Tensor2D;
    const draw1 = drawCutMix(n, 12, 12, new Rng(3));
    const draw2 = drawCutMix(n, 12, 12, new Rng(4));
    const { forView1, forView2 } = cutmixPositives(p1m, p2m, draw1, draw2);
    const [t1, t2] = [normalizeRows(p1m).arraySync(), normalizeRows(p2m).arraySync()];
    const expected = (t: number[][], d: typeof draw1) =>
      t.map((row, i) => {
        const mixedRow = row.map((v, j) => d.lam[i] * v + (1 - d.lam[i]) * t[d.perm[i]][j]);
        const norm = Math.hypot(...mixedRow);
        return mixedRow.map((v) => v / norm);
      });
    const close = (a: number[][], b: number[][]) => a.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(b[i][j], 5)));
    close(forView1.arraySync(), expected(t2, draw1));
    close(forView2.arraySync(), expected(t1, draw2));
    tf.dispose([p1m, p2m, forView1, forView2]);
  });

  it('a UniGrad + CutMix step logs a positive similarity that is a cosine, in [−1, 1]', async () => {
    const config = resolveConfig({
      method: 'unigrad',
      cutmix: true,
      data: { dataset: 'synthetic', imageSize: 16 },
      model: { trunk: 'convnet', widths: [4, 8], projectorHidden: 16, projectorOut: 16 },
      optim: { batchSize: 8 },
    });
    const training = buildTraining(config, { stepsPerEpoch: 4, totalSteps: 4 });
    let state = {};
    for (let step = 0; step < 3; step++) {
      // Large inputs give large raw projections: a mixture of raw (unnormalised) targets would leave [−1, 1].
      const views: [tf.Tensor4D, tf.Tensor4D] = [tf.randomNormal([8, 16, 16, 1], 0, 30, 'float32', step) as tf.Tensor4D, tf.randomNormal([8, 16, 16, 1], 0, 30, 'float32', step + 9) as tf.Tensor4D];
      const outcome = await trainStep(training, views, state, { lr: 0.05, emaMomentum: 0.99, rng: new Rng(step) });
      expect(Math.abs(outcome.posSim)).toBeLessThanOrEqual(1 + 1e-6);
      state = outcome.state;
    }
    disposeState(state);
    disposeTraining(training);
  });
});
