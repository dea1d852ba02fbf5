import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import { countTopKCorrect, topKAccuracy } from './accuracy';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

// Four rows over 6 classes; the rank of the true label is 0, 1, 4 and 5.
const SCORES = [
  [0.1, 0.9, 0.2, 0.0, 0.3, 0.4], // label 1: highest → rank 0
  [0.5, 0.1, 0.7, 0.2, 0.0, 0.3], // label 0: only 0.7 above → rank 1
  [0.9, 0.8, 0.7, 0.6, 0.1, 0.5], // label 5: 0.9, 0.8, 0.7, 0.6 above → rank 4
  [0.2, 0.3, 0.4, 0.5, 0.6, 0.1], // label 5: lowest → rank 5
];
const LABELS = Int32Array.from([1, 0, 5, 5]);

describe('top-k accuracy', () => {
  it('counts the rows whose label ranks within k', () => {
    const flat = Float32Array.from(SCORES.flat());
    expect(countTopKCorrect(flat, 6, LABELS, [1, 2, 4, 5, 6])).toEqual([1, 2, 2, 3, 4]);
    const t = tf.tensor2d(SCORES);
    expect(topKAccuracy(t, LABELS, 1)).toBe(0.25);
    expect(topKAccuracy(t, tf.tensor1d(LABELS, 'int32'), 5)).toBe(0.75);
    t.dispose();
  });

  it('breaks ties towards the lower class index', () => {
    const flat = Float32Array.from([1, 1, 1, 0]);
    expect(countTopKCorrect(flat, 4, Int32Array.from([0]), [1])).toEqual([1]);
    expect(countTopKCorrect(flat, 4, Int32Array.from([2]), [1, 2, 3])).toEqual([0, 0, 1]);
  });

  it('rejects mismatched shapes and out-of-range labels', () => {
    expect(() => countTopKCorrect(new Float32Array(6), 3, Int32Array.from([0]), [1])).toThrow(/expected 1 rows × 3 classes/);
    expect(() => countTopKCorrect(new Float32Array(3), 3, Int32Array.from([3]), [1])).toThrow(/outside \[0, 3\)/);
  });
});
