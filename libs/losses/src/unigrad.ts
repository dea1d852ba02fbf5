// UniGrad (spec §3.1): G1 = −z2m + λ·z1·F, G2 = −z1m + λ·z2·F, F = EMA of the target correlation, updated before use.
// It has no original loss; its closed form 0.5·[mean(−z1·z2m + (λ/2) z1ᵀFz1) + (1↔2)] is checked in the tests.
import * as tf from '@tensorflow/tfjs';
import {
  LossInputError,
  checkF,
  constant,
  gradientViews,
  need,
  positiveSimilarity,
  resolveHyper,
  surrogate,
  tableRow,
  targetCorrelation,
  updateF,
} from './common';
import type { Hyper, LossInputs, LossOutput, Method, MethodState, TargetMode } from './types';

const defaults: Hyper = { lambda: 100, rho: 0.99 };

function gradient(inputs: LossInputs, target: TargetMode, state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper('unigrad', defaults, hyper, ['lambda', 'rho']);
  const lambda = need('unigrad', h, 'lambda');
  const rho = need('unigrad', h, 'rho');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews('unigrad', inputs, target);
  const previousF = checkF('unigrad', state, z1.shape[1]);
  const F = constant(() => updateF(previousF, targetCorrelation(t1, t2), rho));

  // Positive of online view 1: view 2's target (or, with CutMix, view 2's target mixed like view 1); and vice versa.
  let positive1 = t2;
  let positive2 = t1;
  const mixed = inputs.mixedPositives;
  if (mixed) {
    for (const [key, m] of Object.entries(mixed)) {
      if (!m || m.rank !== 2 || m.shape[0] !== z1.shape[0] || m.shape[1] !== z1.shape[1]) {
        throw new LossInputError(`unigrad: mixedPositives.${key} must be N×D like p1 ([${z1.shape.join(', ')}])`);
      }
    }
    positive1 = constant(() => mixed.forView1.clone());
    positive2 = constant(() => mixed.forView2.clone());
  }
  const G1 = constant(() => tf.add(tf.neg(positive1), tf.matMul(s1, F).mul(lambda)) as tf.Tensor2D);
  const G2 = constant(() => tf.add(tf.neg(positive2), tf.matMul(s2, F).mul(lambda)) as tf.Tensor2D);
  return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, positive1, s2, positive2), state: { F } };
}

export const unigrad: Method = {
  name: 'unigrad',
  label: 'UniGrad',
  defaults,
  originalDefaults: defaults,
  hasOriginal: false,
  originalNeeds: { predictor: false, target: 'ema' },
  dimScaled: ['lambda'],
  batchSized: [],
  rows: [
    tableRow('unigrad', 'UniGrad', {
      'grad-no-mm': 'UniGrad gradient (spec §3.1) with F built from stop-gradient online embeddings (the paper has no number for this cell).',
      'grad-mm': 'Official UniGrad gradient (spec §3.1, loss_unigrad): λ 100, ρ 0.99, F = EMA of the target correlation.',
    }),
    {
      row: 'unigrad_cutmix',
      label: 'UniGrad + CutMix',
      cells: [{ variant: 'grad-mm', cutmix: true, description: "UniGrad gradient with CutMix on the online views and area-weighted mixed positives (this project's reading, see cutmix.ts)." }],
    },
  ],
  original(): LossOutput {
    throw new LossInputError("unigrad has no original loss; use its gradient form (form 'grad')");
  },
  gradient,
  initialState: () => ({}),
};
