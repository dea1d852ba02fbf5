// Barlow Twins.
// Original (spec §5): Ẑ = per-dimension standardised raw outputs (biased variance, eps 1e-5), C = Ẑ1ᵀẐ2 / n,
//   L = Σ_i (C_ii − 1)² + λ Σ_{i≠j} C_ij², λ = 0.0051, both branches with gradient. The divisor is the batch
//   actually given (the same batch the statistics are taken over); wholeBatchSize is not used here.
// Gradient form (spec §3.4): G1 = 2·(−Z2m + λ·(Z2m·Z2mᵀ)·Z1/N), G2 = 2·(−Z1m + λ·(Z1m·Z1mᵀ)·Z2/N) with the
//   weights from the other view's targets, the summed vectors the anchor view's (stop-gradient) online embeddings,
//   N = hyper.wholeBatchSize (default: the given batch), λ = 50. With N = n its gradient is that of
//   0.5·(L1 + L2), L1 = −2 tr C + λ‖C‖², C = Z1ᵀZ2m/N (spec §3.4; checked in the tests).
import * as tf from '@tensorflow/tfjs';
import { checkInputs, constant, detachedOnline, gradientViews, LossInputError, need, positiveSimilarity, resolveHyper, surrogate, tableRow } from './common';
import { diagonal, offDiagonalSquareSum, weightedRowSum, wholeBatch } from './decorrelation';
import type { Hyper, LossInputs, LossOutput, Method, MethodState, TargetMode } from './types';

const defaults: Hyper = { lambda: 50 };
const originalDefaults: Hyper = { lambda: 0.0051 };

function gradient(inputs: LossInputs, target: TargetMode, _state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper('barlow_twins', defaults, hyper, ['lambda', 'wholeBatchSize']);
  const lambda = need('barlow_twins', h, 'lambda');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews('barlow_twins', inputs, target);
  const N = wholeBatch('barlow_twins', h.wholeBatchSize, z1.shape[0]);
  const G1 = constant(() => tf.sub(weightedRowSum(t2, t2, s1).mul(lambda / N), t2).mul(2) as tf.Tensor2D);
  const G2 = constant(() => tf.sub(weightedRowSum(t1, t1, s2).mul(lambda / N), t1).mul(2) as tf.Tensor2D);
  return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, t2, s2, t1), state: {} };
}

/** Per-dimension standardisation over the batch, as BatchNorm1d(affine=False) in training mode. */
function standardise(x: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 0, true);
  return tf.sub(x, mean).div(tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
}

function original(inputs: LossInputs, _state: MethodState, hyper?: Hyper): LossOutput {
  checkInputs('barlow_twins', inputs);
  const lambda = need('barlow_twins', resolveHyper('barlow_twins', originalDefaults, hyper, ['lambda']), 'lambda');
  const n = inputs.p1.shape[0];
  if (n < 2) throw new LossInputError('barlow_twins: the original loss standardises over the batch and needs N >= 2');
  const C = tf.matMul(standardise(inputs.p1), standardise(inputs.p2), true, false).div(n) as tf.Tensor2D;
  const onDiagonal = tf.sum(tf.square(tf.sub(diagonal(C), 1)));
  const loss = tf.add(onDiagonal, offDiagonalSquareSum(C).mul(lambda)) as tf.Scalar;
  const { s1, s2 } = detachedOnline(inputs);
  return { loss, posSim: positiveSimilarity(s1, s2, s2, s1), state: {} };
}

export const barlowTwins: Method = {
  name: 'barlow_twins',
  label: 'Barlow Twins',
  defaults,
  originalDefaults,
  hasOriginal: true,
  originalNeeds: { predictor: false, target: 'none' },
  dimScaled: ['lambda'],
  batchSized: ['wholeBatchSize'],
  rows: [
    tableRow('barlow_twins', 'Barlow Twins', {
      original: 'Barlow Twins: standardised cross-correlation loss, λ 0.0051, both branches with gradient (spec §5).',
      'grad-no-mm': 'Official decorrelation gradient (spec §3.4), factor 2, divided by the configured batch, stop-gradient online targets.',
      'grad-mm': 'Official decorrelation gradient (spec §3.4, loss_barlow_twins_grad_mm), λ 50, with the momentum encoder.',
    }),
  ],
  original,
  gradient,
  initialState: () => ({}),
};
