// BYOL. Original, at BYOL's published scale (spec §5): Σ over both directions of mean_i ‖q̂ − t̂‖² = 2 − 2cos, i.e.
//   [2 − 2·mean cos(q1, z2m)] + [2 − 2·mean cos(q2, z1m)] = 4 + 4·(SimSiam's 0.5-scaled loss): 4× SimSiam's
//   gradient, which under SGD is an effective learning rate, so the original column trains at BYOL's own scale.
// Gradient form: the official DirectPred gradient (spec §3.3), F from the targets.
import { checkInputs, constant, detachedOnline, normalizeRows, positiveSimilarity, predictorCosineLoss, tableRow } from './common';
import { directPredDefaults, directPredGradient } from './directpred';
import type { LossInputs, LossOutput, Method } from './types';
import * as tf from '@tensorflow/tfjs';

function original(inputs: LossInputs): LossOutput {
  checkInputs('byol', inputs, ['q1', 'q2', 'p1m', 'p2m']);
  const t1 = constant(() => normalizeRows(inputs.p1m as tf.Tensor2D));
  const t2 = constant(() => normalizeRows(inputs.p2m as tf.Tensor2D));
  const loss = tf.add(4, tf.mul(4, predictorCosineLoss(inputs.q1 as tf.Tensor2D, t2, inputs.q2 as tf.Tensor2D, t1))) as tf.Scalar;
  const { s1, s2 } = detachedOnline(inputs);
  return { loss, posSim: positiveSimilarity(s1, t2, s2, t1), state: {} };
}

export const byol: Method = {
  name: 'byol',
  label: 'BYOL',
  defaults: directPredDefaults,
  originalDefaults: {},
  hasOriginal: true,
  originalNeeds: { predictor: true, target: 'ema' },
  dimScaled: [],
  batchSized: [],
  rows: [
    tableRow('byol', 'BYOL', {
      original: 'Negative cosine of a learned predictor\'s output against the EMA target (spec §5).',
      'grad-no-mm': 'Official DirectPred gradient (spec §3.3, A = F/s_max + ε²I) with stop-gradient online targets.',
      'grad-mm': 'Official DirectPred gradient (spec §3.3, loss_byol_directpred_grad) with the momentum encoder.',
    }),
  ],
  original,
  gradient: (inputs, target, state, hyper) => directPredGradient('byol', inputs, target, state, hyper),
  initialState: () => ({}),
};
