// What the evaluation code reads: labelled image batches from any iterator (the data lib's `batches()` fits).
import * as tf from '@tensorflow/tfjs';

/** One labelled batch. Evaluation code owns it once yielded and disposes its tensors after use. */
export interface LabeledBatch {
  /** Images, NHWC (or anything the trunk accepts). */
  x: tf.Tensor;
  /** Integer class labels, one per row of x. */
  y: tf.Tensor1D | Int32Array;
}

export type BatchSource = Iterable<LabeledBatch> | AsyncIterable<LabeledBatch>;

/** A tensor → tensor map applied to images before the trunk (normalisation, augmentation). Must not dispose its input. */
export type ImageTransform = (x: tf.Tensor) => tf.Tensor;

/** Features of a dataset, row-major [count, dim], with their labels. */
export interface FeatureSet {
  features: Float32Array;
  labels: Int32Array;
  count: number;
  dim: number;
}

export async function labelsOf(batch: LabeledBatch): Promise<Int32Array> {
  const y = batch.y instanceof Int32Array ? batch.y : Int32Array.from(await batch.y.data());
  if (y.length !== batch.x.shape[0]) throw new Error(`batch has ${batch.x.shape[0]} images but ${y.length} labels`);
  return y;
}

export function disposeLabeledBatch(batch: LabeledBatch): void {
  batch.x.dispose();
  if (!(batch.y instanceof Int32Array)) batch.y.dispose();
}

export function checkFeatureSet(what: string, set: FeatureSet): void {
  if (!Number.isInteger(set.dim) || set.dim < 1 || !Number.isInteger(set.count) || set.count < 1) {
    throw new Error(`${what}: needs count >= 1 and dim >= 1, got count ${set.count}, dim ${set.dim}`);
  }
  if (set.features.length !== set.count * set.dim) {
    throw new Error(`${what}: ${set.features.length} feature values for count ${set.count} × dim ${set.dim}`);
  }
  if (set.labels.length !== set.count) throw new Error(`${what}: ${set.labels.length} labels for ${set.count} rows`);
}

export function checkLabels(what: string, labels: Int32Array, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new Error(`${what}: label ${y} at row ${i} is outside [0, numClasses=${numClasses})`);
    }
  }
}
