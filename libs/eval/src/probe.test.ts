import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { FeatureSet, LabeledBatch } from './batches';
import { LinearHead } from './linear-head';
import { trainLinearProbe, trainLinearProbeOnFeatures } from './probe';
import { TinyTrunk, clusters } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const CENTRES = [
  [3, 0, 0, 0],
  [0, 3, 0, 0],
  [0, 0, 3, 0],
  [0, 0, 0, 3],
  [-3, 0, 0, 0],
  [0, -3, 0, 0],
];

// LARS moves each parameter by about lr·trust of its norm per step. With the paper's values (0.1·32/256 · 0.001) the
// 0.01-scale head would need thousands of steps to grow; these tests raise the trust coefficient so that a few
// epochs on a few hundred rows converge.
const FAST = { numClasses: 6, epochs: 7, batchSize: 32, baseLr: 1, trustCoefficient: 0.5, evalEvery: 3, seed: 3 };

function batchesOf(set: FeatureSet, batchSize: number, shape: number[]): LabeledBatch[] {
  const out: LabeledBatch[] = [];
  for (let s = 0; s < set.count; s += batchSize) {
    const n = Math.min(batchSize, set.count - s);
    out.push({ x: tf.tensor(set.features.subarray(s * set.dim, (s + n) * set.dim), [n, ...shape]), y: set.labels.slice(s, s + n) });
  }
  return out;
}

describe('LinearHead', () => {
  it('starts with weight ~ N(0, 0.01²) and a zero bias', () => {
    const head = new LinearHead(200, 50, { rng: 7 });
    const w = Float32Array.from(head.params.get('weight')!.dataSync());
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(5e-4);
    expect(std).toBeGreaterThan(0.0097);
    expect(std).toBeLessThan(0.0103);
    expect(Array.from(head.params.get('bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    head.dispose();
  });
});

describe('trainLinearProbeOnFeatures (fast protocol)', () => {
  const train = clusters(CENTRES, 40, 1.2, 11);
  const test = clusters(CENTRES, 15, 1.2, 12);

  it('learns separable clusters, evaluates every evalEvery epochs and at the end, uses the per-epoch cosine', async () => {
    const before = tf.memory().numTensors;
    const result = await trainLinearProbeOnFeatures(train, test, FAST);
    expect(result.protocol).toBe('fast');
    expect(result.history.map((h) => h.epoch)).toEqual([3, 6, 7]);
    expect(result.final.epoch).toBe(7);
    expect(result.final.top1).toBeGreaterThan(0.95);
    expect(result.final.top5).toBe(1);
    expect(result.best.top1).toBe(Math.max(...result.history.map((h) => h.top1)));
    const lr0 = (1 * 32) / 256;
    result.lr.forEach((lr, e) => expect(lr).toBeCloseTo(lr0 * 0.5 * (1 + Math.cos((Math.PI * e) / 7)), 12));
    expect(result.trainLoss[6]).toBeLessThan(result.trainLoss[0]);
    expect(result.trainLoss[0]).toBeLessThan(Math.log(6) + 0.01); // starts at chance level: ln 6
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic for a seed and depends on it', async () => {
    const a = await trainLinearProbeOnFeatures(train, test, FAST);
    const b = await trainLinearProbeOnFeatures(train, test, FAST);
    const c = await trainLinearProbeOnFeatures(train, test, { ...FAST, seed: 4 });
    expect(b.trainLoss).toEqual(a.trainLoss);
    expect(b.history).toEqual(a.history);
    expect(c.trainLoss).not.toEqual(a.trainLoss);
  });

  it('with the paper settings (trust 0.001) the head barely moves in one epoch', async () => {
    const r = await trainLinearProbeOnFeatures(train, test, { numClasses: 6, epochs: 1, batchSize: 32 });
    expect(Math.abs(r.trainLoss[0] - Math.log(6))).toBeLessThan(0.05);
  });

  it('rejects labels outside numClasses', async () => {
    await expect(trainLinearProbeOnFeatures(train, test, { ...FAST, numClasses: 5 })).rejects.toThrow(/label 5/);
  });
});

describe('trainLinearProbe (paper protocol)', () => {
  it('keeps the frozen trunk bit-identical (weights and BN buffers) and runs it only in eval mode', async () => {
    // The trunk is a fixed rotation-like map plus a running mean, so the clusters stay separable behind it.
    const weight = [1, 0.2, 0, 0, -0.2, 1, 0.1, 0, 0, 0, 1, 0.3, 0, 0.1, 0, 1];
    const trunk = new TinyTrunk(4, 4, weight, [0.5, -0.5, 0.25, 0]);
    const snapshot = (): Map<string, Float32Array> =>
      new Map([...trunk.params, ...trunk.buffers].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    const before = snapshot();
    const test = clusters(CENTRES, 15, 1.2, 22);
    const tensorsBefore = tf.memory().numTensors;
    const result = await trainLinearProbe(
      trunk,
      {
        trainBatches: (epoch) => batchesOf(clusters(CENTRES, 40, 1.2, 100 + epoch), 32, [2, 2, 1]),
        testBatches: () => batchesOf(test, 50, [2, 2, 1]),
        trainTransform: (x) => tf.mul(x, 1.0),
      },
      { ...FAST, epochs: 4, evalEvery: 2 },
    );
    expect(result.protocol).toBe('paper');
    expect(result.history.map((h) => h.epoch)).toEqual([2, 4]);
    expect(result.final.top1).toBeGreaterThan(0.9);
    expect(new Set(trunk.modes)).toEqual(new Set(['eval']));
    const after = snapshot();
    for (const [name, values] of before) expect(Buffer.from(after.get(name)!.buffer)).toEqual(Buffer.from(values.buffer));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    trunk.dispose();
  });
});
