// Effective rank of a set of embeddings (RankMe, Garrido et al., ICML 2023): exp of the entropy of the normalised
// singular values. It falls towards 1 under dimensional collapse, which a per-dimension std cannot see (a
// representation spread over 2 of 64 directions still has a healthy std). Logged per epoch as the collapse signal.
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { FeatureSet } from './batches';

/** RankMe's ε: keeps log(p) finite for exactly-zero singular values. */
const RANKME_EPS = 1e-7;

/** Singular values of the count × dim matrix X, from the eigenvalues of XᵀX (dim × dim, float64 eigensolver). */
export function singularValues(x: Float32Array, count: number, dim: number): number[] {
  if (x.length !== count * dim) throw new Error(`singularValues: ${x.length} values do not make a ${count}×${dim} matrix`);
  const gram = tf.tidy(() => {
    const m = tf.tensor2d(x, [count, dim]);
    return tf.matMul(m, m, true, false).arraySync() as number[][];
  });
  const { realEigenvalues } = new EigenvalueDecomposition(new Matrix(gram), { assumeSymmetric: true });
  return realEigenvalues.map((v) => Math.sqrt(Math.max(v, 0))).sort((a, b) => b - a);
}

/** RankMe of the rows of a feature set: exp(−Σ p_k log p_k), p_k = σ_k / Σσ + ε. In [1, min(count, dim)]. */
export function effectiveRank(set: Pick<FeatureSet, 'features' | 'count' | 'dim'>): number {
  const sigma = singularValues(set.features, set.count, set.dim);
  const total = sigma.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 1;
  const entropy = sigma.reduce((h, s) => {
    const p = s / total + RANKME_EPS;
    return h - p * Math.log(p);
  }, 0);
  return Math.exp(entropy);
}
