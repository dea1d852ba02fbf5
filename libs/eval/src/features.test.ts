import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { LabeledBatch } from './batches';
import { extractFeatures } from './features';
import { pixelTrunk } from './baselines';
import { TinyTrunk, noise } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const W = [1, 0, 0, 1, 2, -1, 0.5, 0.5]; // [4, 2]
const RUNNING_MEAN = [1, -1];

/** x·W − running mean, by hand. */
function expected(x: number[]): number[] {
  const out = [0, 0];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) out[j] += x[i] * W[i * 2 + j];
  return out.map((v, j) => v - RUNNING_MEAN[j]);
}

describe('extractFeatures', () => {
  it('runs the trunk in eval mode, in chunks, keeps the order and labels, and frees every tensor', async () => {
    const trunk = new TinyTrunk(4, 2, W, RUNNING_MEAN);
    const rows = Array.from({ length: 8 }, (_, i) => noise(i + 1, 4));
    const before = tf.memory().numTensors;
    function* source(): Generator<LabeledBatch> {
      yield { x: tf.tensor4d(rows.slice(0, 5).flat(), [5, 2, 2, 1]), y: Int32Array.from([0, 1, 2, 0, 1]) };
      yield { x: tf.tensor4d(rows.slice(5).flat(), [3, 2, 2, 1]), y: tf.tensor1d([2, 2, 1], 'int32') };
    }
    const set = await extractFeatures(trunk, source(), { chunkSize: 2 });
    expect(set.count).toBe(8);
    expect(set.dim).toBe(2);
    expect(Array.from(set.labels)).toEqual([0, 1, 2, 0, 1, 2, 2, 1]);
    rows.forEach((r, i) => {
      const e = expected(r);
      expect(set.features[2 * i]).toBeCloseTo(e[0], 5);
      expect(set.features[2 * i + 1]).toBeCloseTo(e[1], 5);
    });
    expect(new Set(trunk.modes)).toEqual(new Set(['eval']));
    expect(Array.from(trunk.buffers.get('bn.running_mean')!.dataSync())).toEqual(RUNNING_MEAN);
    expect(tf.memory().numTensors).toBe(before);
    trunk.dispose();
  });

  it('applies the transform before the trunk (raw pixels, normalised)', async () => {
    const x = [0, 0.5, 1, 0.25, 0.75, 0.1];
    const set = await extractFeatures(
      pixelTrunk([1, 3, 2]),
      [{ x: tf.tensor4d(x, [1, 1, 3, 2]), y: Int32Array.from([4]) }],
      { transform: (t) => tf.div(tf.sub(t, 0.5), 0.25) },
    );
    x.forEach((v, i) => expect(set.features[i]).toBeCloseTo((v - 0.5) / 0.25, 6));
    expect(Array.from(set.labels)).toEqual([4]);
  });

  it('says what is wrong with a label count mismatch or an empty source', async () => {
    const trunk = pixelTrunk([2]);
    await expect(extractFeatures(trunk, [{ x: tf.zeros([3, 2]), y: Int32Array.from([1]) }])).rejects.toThrow(/3 images but 1 labels/);
    await expect(extractFeatures(trunk, [])).rejects.toThrow(/no images/);
  });
});
