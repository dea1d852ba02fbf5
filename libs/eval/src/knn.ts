// Weighted kNN monitor (InstDisc / MoCo style, spec §7.2: k = 200, T = 0.1): cosine similarity of L2-normalised
// trunk features, the k most similar bank rows vote for their class with weight exp(sim / T).
import * as tf from '@tensorflow/tfjs';
import { FeatureSet, checkFeatureSet, checkLabels } from './batches';
import { countTopKCorrect } from './accuracy';

export interface KnnOptions {
  numClasses: number;
  /** Neighbours (paper 200; capped at the bank size). */
  k?: number;
  /** Temperature of the vote weights exp(sim / T) (paper 0.1). */
  temperature?: number;
  /** Queries per similarity block: memory is bank + chunkSize × bank size floats. Default 256. */
  chunkSize?: number;
}

export interface TopKResult {
  /** Fractions in [0, 1]. */
  top1: number;
  top5: number;
}

/** Class scores [queries.count, numClasses] (row-major): Σ over the k nearest bank rows of exp(sim/T), per class. */
export function knnScores(bank: FeatureSet, queries: FeatureSet, options: KnnOptions): Float32Array {
  checkFeatureSet('kNN bank', bank);
  checkFeatureSet('kNN queries', queries);
  if (bank.dim !== queries.dim) throw new Error(`kNN: bank dim ${bank.dim} differs from query dim ${queries.dim}`);
  const { numClasses } = options;
  checkLabels('kNN bank', bank.labels, numClasses);
  const k = Math.min(options.k ?? 200, bank.count);
  const temperature = options.temperature ?? 0.1;
  const chunkSize = options.chunkSize ?? 256;
  if (!(k >= 1 && Number.isInteger(k))) throw new Error(`kNN k must be a positive integer, got ${options.k}`);
  if (!(temperature > 0)) throw new Error(`kNN temperature must be > 0, got ${temperature}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`kNN chunkSize must be a positive integer, got ${chunkSize}`);

  const scores = new Float32Array(queries.count * numClasses);
  const bankNorm = tf.tidy(() => l2Normalize(tf.tensor2d(bank.features, [bank.count, bank.dim])));
  try {
    for (let start = 0; start < queries.count; start += chunkSize) {
      const size = Math.min(chunkSize, queries.count - start);
      const rows = queries.features.subarray(start * queries.dim, (start + size) * queries.dim);
      const { values, indices } = tf.tidy(() => {
        const q = l2Normalize(tf.tensor2d(rows, [size, queries.dim]));
        const top = tf.topk(tf.matMul(q, bankNorm, false, true), k, true);
        return { values: top.values, indices: top.indices };
      });
      const sims = values.dataSync();
      const idx = indices.dataSync();
      tf.dispose([values, indices]);
      for (let r = 0; r < size; r++) {
        const out = (start + r) * numClasses;
        for (let j = 0; j < k; j++) {
          scores[out + bank.labels[idx[r * k + j]]] += Math.exp(sims[r * k + j] / temperature);
        }
      }
    }
  } finally {
    bankNorm.dispose();
  }
  return scores;
}

/** Top-1 / top-5 accuracy of the weighted kNN classifier: bank = train features, queries = test features. */
export function knnAccuracy(bank: FeatureSet, queries: FeatureSet, options: KnnOptions): TopKResult {
  const scores = knnScores(bank, queries, options);
  const [c1, c5] = countTopKCorrect(scores, options.numClasses, queries.labels, [1, 5]);
  return { top1: c1 / queries.count, top5: c5 / queries.count };
}

function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  // Same as torch F.normalize(dim=1, eps=1e-12): x / max(‖x‖, eps).
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
}
