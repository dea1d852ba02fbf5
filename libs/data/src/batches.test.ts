import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, batchesPerEpoch, disposeBatch, epochOrder } from './batches';
import { ArrayDataset } from './dataset';

/** 10 images of 2×2×1 whose pixels all equal 10·index, labels = index % 3. */
function tinyDataset(n = 10): ArrayDataset {
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(10 * i, 4 * i, 4 * i + 4);
  return new ArrayDataset('tiny', images, Int32Array.from({ length: n }, (_, i) => i % 3), 2, 2, 1, ['a', 'b', 'c'], { mean: [0.5], std: [0.5] });
}

async function collect(ds: ArrayDataset, options: Parameters<typeof batches>[1]) {
  const out: { indices: number[]; x: number[]; y: number[]; shape: number[] }[] = [];
  for await (const b of batches(ds, options)) {
    out.push({ indices: Array.from(b.indices), x: Array.from(await b.x.data()), y: Array.from(await b.y.data()), shape: b.x.shape });
    disposeBatch(b);
  }
  return out;
}

describe('epochOrder and batches', () => {
  beforeAll(async () => {
    await initBackend({ force: 'cpu', log: false });
  });

  it('is a permutation fixed by (seed, epoch) and different across epochs and seeds', () => {
    const a = epochOrder(1000, { seed: 3, epoch: 2 });
    expect(Array.from(a).sort((p, q) => p - q)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(epochOrder(1000, { seed: 3, epoch: 2 }))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(1000, { seed: 3, epoch: 3 }))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(1000, { seed: 4, epoch: 2 }))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(5, { shuffle: false }))).toEqual([0, 1, 2, 3, 4]);
  });

  it('subset is the same images in every epoch, shuffled per epoch', () => {
    const e0 = epochOrder(1000, { seed: 1, epoch: 0, subset: 100 });
    const e1 = epochOrder(1000, { seed: 1, epoch: 1, subset: 100 });
    expect(e0.length).toBe(100);
    expect(Array.from(e0).sort((p, q) => p - q)).toEqual(Array.from(e1).sort((p, q) => p - q));
    expect(Array.from(e0)).not.toEqual(Array.from(e1));
    expect(new Set(e0).size).toBe(100);
    expect(() => epochOrder(10, { subset: 11 })).toThrow(/subset must be an integer in \[1, 10\]/);
  });

  it('dropLast drops the partial batch; otherwise the last batch is short', async () => {
    const ds = tinyDataset();
    expect(batchesPerEpoch(10, 4, true)).toBe(2);
    expect(batchesPerEpoch(10, 4, false)).toBe(3);
    const dropped = await collect(ds, { batchSize: 4, seed: 7, dropLast: true });
    expect(dropped.map((b) => b.indices.length)).toEqual([4, 4]);
    const kept = await collect(ds, { batchSize: 4, seed: 7 });
    expect(kept.map((b) => b.indices.length)).toEqual([4, 4, 2]);
    expect(kept.flatMap((b) => b.indices).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('yields NHWC float32 pixels / 255 and int32 labels matching the indices', async () => {
    const ds = tinyDataset();
    const [first] = await collect(ds, { batchSize: 3, seed: 11 });
    expect(first.shape).toEqual([3, 2, 2, 1]);
    first.indices.forEach((i, b) => {
      for (let p = 0; p < 4; p++) expect(first.x[4 * b + p]).toBeCloseTo((10 * i) / 255, 6);
      expect(first.y[b]).toBe(i % 3);
    });
  });

  it('resuming at startBatch gives the rest of the same epoch', async () => {
    const ds = tinyDataset();
    const full = await collect(ds, { batchSize: 3, seed: 5, epoch: 4, dropLast: true });
    const resumed = await collect(ds, { batchSize: 3, seed: 5, epoch: 4, dropLast: true, startBatch: 1 });
    expect(resumed.map((b) => b.indices)).toEqual(full.slice(1).map((b) => b.indices));
    expect(tf.memory().numTensors).toBe(0);
  });
});
