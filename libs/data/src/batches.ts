// Batches of a dataset as tensors, in a seeded order that depends only on (seed, epoch): a resumed run that
// restarts at (epoch, startBatch) sees exactly the batches the interrupted run would have seen.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import type { Dataset, RawBatch } from './dataset';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle each epoch (default true). Evaluation passes false to read in dataset order. */
  shuffle?: boolean;
  /** Seed of the shuffling and of the subset choice (default 0). */
  seed?: number;
  /** Epoch number; each epoch has its own permutation derived from (seed, epoch). Default 0. */
  epoch?: number;
  /** Drop the last partial batch (pretraining: true, spec §7.2; evaluation: false). Default false. */
  dropLast?: boolean;
  /** Use only this many images, a fixed seeded random subset (the same in every epoch), for quick presets. */
  subset?: number;
  /** Skip the first startBatch batches of the epoch (resuming mid-epoch). Default 0. */
  startBatch?: number;
}

/** One batch: pixels as NHWC float32 in [0, 1] (not normalised yet), labels, and which images these are. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  indices: Int32Array;
  /** Original image sizes, for crops in the original pixel grid (see RawBatch). */
  sourceHeights: Int32Array;
  sourceWidths: Int32Array;
}

/** Derives a 32-bit seed for a sub-stream (epoch order, subset) from the user's seed. */
function deriveSeed(seed: number, stream: number, index: number): number {
  let h = Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (stream + 0x632be5ab), 0x85ebca6b);
  h = Math.imul(h ^ (index + 0x1b873593), 0xc2b2ae35);
  return (h ^ (h >>> 15)) >>> 0;
}

/** The indices an epoch visits, in order (before batching): the subset if any, shuffled for this epoch if asked. */
export function epochOrder(n: number, options: Pick<BatchOptions, 'shuffle' | 'seed' | 'epoch' | 'subset'> = {}): Int32Array {
  const seed = options.seed ?? 0;
  const epoch = options.epoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epoch must be a non-negative integer, got ${epoch}`);
  let pool: Int32Array;
  if (options.subset !== undefined) {
    if (!Number.isInteger(options.subset) || options.subset < 1 || options.subset > n) {
      throw new Error(`subset must be an integer in [1, ${n}], got ${options.subset}`);
    }
    // Sorted, so an unshuffled pass over the subset still reads in dataset order.
    pool = new Rng(deriveSeed(seed, 1, 0)).permutation(n).slice(0, options.subset).sort();
  } else {
    pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
  }
  if (options.shuffle ?? true) new Rng(deriveSeed(seed, 2, epoch)).shuffle(pool);
  return pool;
}

/** Batches in one epoch of `count` images. */
export function batchesPerEpoch(count: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** Uint8 HWC pixels → NHWC float32 tensor in [0, 1]. */
export function rawToTensor(raw: RawBatch, height: number, width: number, channels: number): tf.Tensor4D {
  const count = raw.labels.length;
  const values = new Float32Array(raw.pixels.length);
  for (let i = 0; i < values.length; i++) values[i] = raw.pixels[i] / 255;
  return tf.tensor4d(values, [count, height, width, channels]);
}

/**
 * One epoch of batches. The caller owns each batch's tensors and must dispose them (`disposeBatch`).
 * While the caller works on batch k, batch k + 1 is already being read (this matters for ImageFolder).
 */
export async function* batches(ds: Dataset, options: BatchOptions): AsyncGenerator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const order = epochOrder(ds.n, options);
  const total = batchesPerEpoch(order.length, batchSize, options.dropLast ?? false);
  const start = options.startBatch ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > total) throw new Error(`startBatch must be in [0, ${total}], got ${start}`);
  const indicesOf = (k: number) => order.slice(k * batchSize, Math.min(order.length, (k + 1) * batchSize));
  let pending: Promise<RawBatch> | null = start < total ? ds.readBatch(indicesOf(start)) : null;
  try {
    for (let k = start; k < total; k++) {
      const raw = await (pending as Promise<RawBatch>);
      pending = k + 1 < total ? ds.readBatch(indicesOf(k + 1)) : null;
      yield {
        x: rawToTensor(raw, ds.height, ds.width, ds.channels),
        y: tf.tensor1d(raw.labels, 'int32'),
        indices: indicesOf(k),
        sourceHeights: raw.sourceHeights,
        sourceWidths: raw.sourceWidths,
      };
    }
  } finally {
    // A consumer that stops early leaves one read in flight; its failure must not surface as unhandled.
    pending?.catch(() => undefined);
  }
}

export function disposeBatch(batch: Batch): void {
  batch.x.dispose();
  batch.y.dispose();
}
