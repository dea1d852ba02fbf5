// Shared pieces of the feature-decorrelation family (Barlow Twins, VICReg).
import * as tf from '@tensorflow/tfjs';
import { LossInputError } from './common';
import type { MethodName } from './types';

/** Σ_m (a_i·b_m) c_m for every row i, i.e. (A·Bᵀ)·C, choosing the cheaper association. */
export function weightedRowSum(A: tf.Tensor2D, B: tf.Tensor2D, C: tf.Tensor2D): tf.Tensor2D {
  const [n, d] = A.shape;
  const m = B.shape[0];
  // (A Bᵀ) C costs n·m·(d + d); A (Bᵀ C) costs d·m·d + n·d·d.
  return n * m * 2 * d <= d * d * (m + n) ? tf.matMul(tf.matMul(A, B, false, true), C) : tf.matMul(A, tf.matMul(B, C, true, false));
}

/** Sum of the squared off-diagonal entries of a square matrix. */
export function offDiagonalSquareSum(C: tf.Tensor2D): tf.Scalar {
  return tf.sub(tf.sum(tf.square(C)), tf.sum(tf.square(diagonal(C)))) as tf.Scalar;
}

export function diagonal(C: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(C, tf.eye(C.shape[0])), 1) as tf.Tensor1D;
}

export function wholeBatch(method: MethodName, configured: number | undefined, n: number): number {
  const N = configured ?? n;
  if (!Number.isInteger(N) || N < 1) throw new LossInputError(`${method}: hyper.wholeBatchSize must be a positive integer, got ${N}`);
  return N;
}
