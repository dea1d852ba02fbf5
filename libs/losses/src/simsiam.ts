// SimSiam. Original: 0.5·mean(−cos(q1, sg z2)) + 0.5·mean(−cos(q2, sg z1)): predictor outputs q, stop-gradient
// online targets. Gradient form: the DirectPred gradient (spec §3.3) with stop-gradient online targets in no_mm
// (spec §4.2); with a momentum encoder (mm) it is the same as BYOL's.
import { checkInputs, constant, normalizeRows, positiveSimilarity, predictorCosineLoss, tableRow } from './common';
import { directPredDefaults, directPredGradient } from './directpred';
import type { LossInputs, LossOutput, Method } from './types';
import type * as tf from '@tensorflow/tfjs';

function original(inputs: LossInputs): LossOutput {
  checkInputs('simsiam', inputs, ['q1', 'q2']);
  const s1 = constant(() => normalizeRows(inputs.p1));
  const s2 = constant(() => normalizeRows(inputs.p2));
  const loss = predictorCosineLoss(inputs.q1 as tf.Tensor2D, s2, inputs.q2 as tf.Tensor2D, s1);
  return { loss, posSim: positiveSimilarity(s1, s2, s2, s1), state: {} };
}

export const simsiam: Method = {
  name: 'simsiam',
  label: 'SimSiam',
  defaults: directPredDefaults,
  originalDefaults: {},
  hasOriginal: true,
  originalNeeds: { predictor: true, target: 'stopgrad' },
  dimScaled: [],
  batchSized: [],
  rows: [
    tableRow('simsiam', 'SimSiam', {
      original: 'Negative cosine of a learned predictor\'s output against the stop-gradient online target (spec §5).',
      'grad-no-mm': 'DirectPred gradient (spec §3.3) with target = stop-gradient online embedding: SimSiam\'s gradient form (spec §4.2).',
      'grad-mm': 'DirectPred gradient (spec §3.3) with momentum-encoder targets; identical to BYOL\'s gradient form (spec §4.2).',
    }),
  ],
  original,
  gradient: (inputs, target, state, hyper) => directPredGradient('simsiam', inputs, target, state, hyper),
  initialState: () => ({}),
};
