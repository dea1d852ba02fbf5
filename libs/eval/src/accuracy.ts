// Top-k accuracy. Ties are broken towards the lower class index (as tf.topk does), so results are deterministic.
import * as tf from '@tensorflow/tfjs';

/**
 * For each k in `ks`, how many rows of `scores` ([rows, numClasses], row-major) rank their label within the top k.
 * A label's rank is the number of classes scoring strictly higher, plus the lower-index classes that tie with it.
 */
export function countTopKCorrect(scores: Float32Array, numClasses: number, labels: Int32Array, ks: readonly number[]): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (scores.length !== labels.length * numClasses) {
    throw new Error(`scores hold ${scores.length} values, expected ${labels.length} rows × ${numClasses} classes`);
  }
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const correct = ks.map(() => 0);
  for (let r = 0; r < labels.length; r++) {
    const y = labels[r];
    if (!(y >= 0 && y < numClasses)) throw new Error(`label ${y} at row ${r} is outside [0, ${numClasses})`);
    const row = r * numClasses;
    const s = scores[row + y];
    let rank = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = scores[row + c];
      if (v > s || (v === s && c < y)) rank++;
    }
    ks.forEach((k, i) => {
      if (rank < k) correct[i]++;
    });
  }
  return correct;
}

/** Fraction (in [0, 1]) of rows whose label is among the k highest scores. */
export function topKAccuracy(scores: tf.Tensor2D, labels: Int32Array | tf.Tensor1D, k: number): number {
  if (scores.rank !== 2) throw new Error(`scores must be [rows, classes], got [${scores.shape}]`);
  const y = labels instanceof Int32Array ? labels : Int32Array.from(labels.dataSync());
  if (y.length !== scores.shape[0]) throw new Error(`${scores.shape[0]} score rows but ${y.length} labels`);
  const raw = scores.dataSync();
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw);
  return countTopKCorrect(values, scores.shape[1], y, [k])[0] / y.length;
}
