import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { LabeledBatch } from './batches';
import { pixelTrunk, trainSupervised } from './baselines';
import { LinearHead } from './linear-head';
import { evaluateClassifier } from './probe';
import { TinyTrunk, clusters } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const CENTRES = [
  [2, 0, 0, 0],
  [0, 2, 0, 0],
  [0, 0, 2, 0],
  [0, 0, 0, 2],
];

function batchesFrom(seed: number, perClass: number, batchSize: number): LabeledBatch[] {
  const set = clusters(CENTRES, perClass, 1.5, seed);
  const out: LabeledBatch[] = [];
  for (let s = 0; s < set.count; s += batchSize) {
    const n = Math.min(batchSize, set.count - s);
    out.push({ x: tf.tensor4d(set.features.subarray(s * 4, (s + n) * 4), [n, 2, 2, 1]), y: set.labels.slice(s, s + n) });
  }
  return out;
}

describe('pixelTrunk', () => {
  it('flattens HWC images row by row and checks the input shape', () => {
    const trunk = pixelTrunk([2, 2, 1]);
    const out = trunk.apply(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]), 'eval');
    expect(out.shape).toEqual([2, 4]);
    expect(Array.from(out.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => trunk.apply(tf.zeros([1, 3, 2, 1]), 'eval')).toThrow(/expected images \[N, 2,2,1\]/);
  });
});

describe('trainSupervised', () => {
  it('trains trunk and head end to end (trunk in train mode, its weights change) and reaches a high accuracy', async () => {
    const trunk = new TinyTrunk(4, 4, [0.3, 0, 0.1, 0, 0, 0.3, 0, 0.1, 0.1, 0, 0.3, 0, 0, 0.1, 0, 0.3]);
    const head = new LinearHead(4, 4, { rng: 5 });
    const w0 = Float32Array.from(trunk.params.get('fc.weight')!.dataSync());
    const before = tf.memory().numTensors;
    const result = await trainSupervised(trunk, head, (epoch) => batchesFrom(200 + epoch, 50, 25), {
      numClasses: 4,
      epochs: 6,
      batchSize: 25,
      baseLr: 2,
      weightDecay: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.trainLoss[5]).toBeLessThan(0.5 * result.trainLoss[0]);
    expect(trunk.modes).toContain('train');
    expect(Array.from(trunk.params.get('fc.weight')!.dataSync())).not.toEqual(Array.from(w0));
    trunk.modes.length = 0;
    const acc = await evaluateClassifier(trunk, head, batchesFrom(999, 25, 40));
    expect(new Set(trunk.modes)).toEqual(new Set(['eval']));
    expect(acc.top1).toBeGreaterThan(0.85);
    expect(acc.top5).toBe(1);
    trunk.dispose();
    head.dispose();
  });
});
