// SimCLR.
// Original: NT-Xent over the 2N online embeddings, candidates = every other embedding (self excluded), gradient
//   through all of them, mean over the 2N anchors (spec §5).
// Gradient form (spec §3.2): K = [T1; T2] (all 2n targets, the anchor's own-view target included, nothing masked),
//   S1 = softmax(z1·Kᵀ/τ), G1 = (−z2m + S1·K)/τ, and symmetrically for view 2.
import * as tf from '@tensorflow/tfjs';
import { checkInputs, constant, detachedOnline, gradientViews, need, normalizeRows, positiveSimilarity, resolveHyper, rowDot, surrogate, tableRow } from './common';
import type { Hyper, LossInputs, LossOutput, Method, MethodState, TargetMode } from './types';

const defaults: Hyper = { tau: 0.2 };

function contrastiveRows(anchor: tf.Tensor2D, positive: tf.Tensor2D, candidates: tf.Tensor2D, tau: number): tf.Tensor2D {
  return tf.tidy(() => {
    const S = tf.softmax(tf.matMul(anchor, candidates, false, true).div(tau));
    return tf.sub(tf.matMul(S, candidates), positive).div(tau) as tf.Tensor2D;
  });
}

function gradient(inputs: LossInputs, target: TargetMode, _state: MethodState, hyper?: Hyper): LossOutput {
  const tau = need('simclr', resolveHyper('simclr', defaults, hyper, ['tau']), 'tau');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews('simclr', inputs, target);
  const K = constant(() => tf.concat([t1, t2], 0));
  const G1 = constant(() => contrastiveRows(s1, t2, K, tau));
  const G2 = constant(() => contrastiveRows(s2, t1, K, tau));
  return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, t2, s2, t1), state: {} };
}

function original(inputs: LossInputs, _state: MethodState, hyper?: Hyper): LossOutput {
  checkInputs('simclr', inputs);
  const tau = need('simclr', resolveHyper('simclr', defaults, hyper, ['tau']), 'tau');
  const n = inputs.p1.shape[0];
  const z1 = normalizeRows(inputs.p1);
  const z2 = normalizeRows(inputs.p2);
  const Z = tf.concat([z1, z2], 0);
  // Self-similarity is pushed to −∞ (exp underflows to exactly 0) rather than sliced out.
  const selfMask = constant(() => tf.eye(2 * n).mul(-1e9));
  const logits = tf.add(tf.matMul(Z, Z, false, true).div(tau), selfMask);
  const positive = rowDot(z1, z2).div(tau);
  const logSumExp = tf.logSumExp(logits, 1, true);
  const loss = tf.mean(tf.sub(logSumExp, tf.concat([positive, positive], 0))) as tf.Scalar;
  const { s1, s2 } = detachedOnline(inputs);
  return { loss, posSim: positiveSimilarity(s1, s2, s2, s1), state: {} };
}

export const simclr: Method = {
  name: 'simclr',
  label: 'SimCLR',
  defaults,
  originalDefaults: defaults,
  hasOriginal: true,
  originalNeeds: { predictor: false, target: 'none' },
  dimScaled: [],
  batchSized: [],
  rows: [
    tableRow('simclr', 'SimCLR', {
      original: 'NT-Xent over the 2N online embeddings, τ 0.2, gradients through every embedding (spec §5).',
      'grad-no-mm': 'Official contrastive gradient (spec §3.2) with stop-gradient online embeddings as the 2N candidates (spec §6.2).',
      'grad-mm': 'Official contrastive gradient (spec §3.2, loss_simclr_grad_mm): 2N momentum-encoder candidates, τ 0.2.',
    }),
  ],
  original,
  gradient,
  initialState: () => ({}),
};
