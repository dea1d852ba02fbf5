import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { FeatureSet, LabeledBatch } from './batches';
import { knnMonitor } from './knn-monitor';
import { knnAccuracy, knnScores } from './knn';
import { TinyTrunk, clusters } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

function set(rows: number[][], labels: number[]): FeatureSet {
  return { features: Float32Array.from(rows.flat()), labels: Int32Array.from(labels), count: rows.length, dim: rows[0].length };
}

describe('weighted kNN', () => {
  // Bank in 2-D. Query (1, 0) has cosine 1 with the class-0 row, 0.5 with the two class-1 rows at ±60°,
  // 0 with the class-2 row at 90° and −1 with the class-3 row.
  const c60 = Math.cos(Math.PI / 3);
  const s60 = Math.sin(Math.PI / 3);
  const bank = set(
    [
      [2, 0], // class 0, norm 2: cosine ignores it
      [c60, s60], // class 1
      [c60, -s60], // class 1
      [0, 3], // class 2
      [-1, 0], // class 3
    ],
    [0, 1, 1, 2, 3],
  );
  const query = set([[1, 0]], [1]);

  it('weights each neighbour by exp(sim/T): one close neighbour outvotes two farther ones', () => {
    const scores = knnScores(bank, query, { numClasses: 4, k: 3, temperature: 0.1 });
    expect(scores[0]).toBeCloseTo(Math.exp(10), 1);
    expect(scores[1]).toBeCloseTo(2 * Math.exp(5), 2);
    expect(scores[2]).toBe(0); // not among the 3 nearest
    expect(scores[3]).toBe(0);
    // Majority vote would say class 1 (the label); the weighted vote says class 0.
    expect(knnAccuracy(bank, query, { numClasses: 4, k: 3, temperature: 0.1 })).toEqual({ top1: 0, top5: 1 });
    // With a high temperature the two class-1 neighbours win: 2·e^(0.5/10) > e^(1/10).
    expect(knnAccuracy(bank, query, { numClasses: 4, k: 3, temperature: 10 }).top1).toBe(1);
  });

  it('caps k at the bank size and sums all classes then', () => {
    const scores = knnScores(bank, query, { numClasses: 4, k: 200, temperature: 0.5 });
    const expected = [Math.exp(2), 2 * Math.exp(1), Math.exp(0), Math.exp(-2)];
    expected.forEach((v, c) => expect(scores[c]).toBeCloseTo(v, 4));
  });

  it('gives the same answer for any query chunk size and classifies separated clusters perfectly', () => {
    const centres = [
      [4, 0, 0],
      [0, 4, 0],
      [0, 0, 4],
    ];
    const train = clusters(centres, 40, 1, 1);
    const test = clusters(centres, 10, 1, 2);
    const a = knnScores(train, test, { numClasses: 3, k: 20, temperature: 0.1, chunkSize: 7 });
    const b = knnScores(train, test, { numClasses: 3, k: 20, temperature: 0.1, chunkSize: 256 });
    Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], 3));
    expect(knnAccuracy(train, test, { numClasses: 3, k: 20 }).top1).toBe(1);
    const before = tf.memory().numTensors;
    knnAccuracy(train, test, { numClasses: 3 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a dimension mismatch and labels outside numClasses', () => {
    expect(() => knnScores(bank, set([[1, 0, 0]], [0]), { numClasses: 4 })).toThrow(/dim 2 differs from query dim 3/);
    expect(() => knnScores(bank, query, { numClasses: 3 })).toThrow(/label 3 at row 4/);
  });
});

describe('knnMonitor', () => {
  it('extracts trunk features of both splits in eval mode and votes', async () => {
    const centres = [
      [4, 0, 0, 0],
      [0, 4, 0, 0],
      [0, 0, 0, 4],
    ];
    const trunk = new TinyTrunk(4, 4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const asBatches = (seed: number): LabeledBatch[] => {
      const s = clusters(centres, 20, 1, seed);
      return [{ x: tf.tensor4d(s.features, [s.count, 2, 2, 1]), y: s.labels }];
    };
    const result = await knnMonitor(trunk, asBatches(5), asBatches(6), { numClasses: 3, k: 10 });
    expect(result).toEqual({ top1: 1, top5: 1 });
    expect(new Set(trunk.modes)).toEqual(new Set(['eval']));
    trunk.dispose();
  });
});
