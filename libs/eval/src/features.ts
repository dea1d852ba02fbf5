// Frozen features: the trunk in 'eval' mode (BatchNorm on running statistics), run in chunks, copied to the CPU.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '@unigrad/models';
import { BatchSource, FeatureSet, ImageTransform, disposeLabeledBatch, labelsOf } from './batches';

export interface ExtractOptions {
  /** Applied to each batch's images before the trunk (e.g. normalisation). */
  transform?: ImageTransform;
  /** Images per forward pass (bounds peak memory independently of the iterator's batch size). Default 256. */
  chunkSize?: number;
}

/** Runs `trunk.apply(x, 'eval')` over every batch; the batches are consumed and disposed. */
export async function extractFeatures(trunk: Network, batches: BatchSource, options: ExtractOptions = {}): Promise<FeatureSet> {
  const chunkSize = options.chunkSize ?? 256;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`chunkSize must be a positive integer, got ${chunkSize}`);
  const featureChunks: Float32Array[] = [];
  const labelChunks: Int32Array[] = [];
  const dim = trunk.outputDim;
  for await (const batch of batches) {
    try {
      labelChunks.push(await labelsOf(batch));
      const n = batch.x.shape[0];
      for (let start = 0; start < n; start += chunkSize) {
        const size = Math.min(chunkSize, n - start);
        const out = tf.tidy(() => {
          const x = size === n ? batch.x : tf.slice(batch.x, start, size);
          return trunk.apply(options.transform ? options.transform(x) : x, 'eval');
        });
        try {
          if (out.shape[0] !== size || out.shape[1] !== dim) {
            throw new Error(`${trunk.name}: expected output [${size}, ${dim}], got [${out.shape}]`);
          }
          featureChunks.push((await out.data()) as Float32Array);
        } finally {
          out.dispose();
        }
      }
    } finally {
      disposeLabeledBatch(batch);
    }
  }
  const labels = concat(labelChunks, Int32Array);
  if (labels.length === 0) throw new Error('extractFeatures: the batch source yielded no images');
  return { features: concat(featureChunks, Float32Array), labels, count: labels.length, dim };
}

function concat<T extends Float32Array | Int32Array>(parts: T[], Ctor: { new (n: number): T }): T {
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
