// VICReg.
// Original (spec §5): simCoeff·MSE(x, y) + stdCoeff·[mean_j relu(1 − sqrt(var_j(x) + 1e-4))/2 + same for y]
//   + covCoeff·[Σ_{i≠j} cov(x)_ij² / D + same for y], unbiased variance, cov = centred XᵀX/(N−1), on the raw
//   projector outputs, both branches with gradient; coefficients 25/25/1.
// Gradient form: NOT from the authors (spec §4.3 — no code exists). Our choice, the "same-view correlation"
//   feature-decorrelation gradient that differentiating VICReg's covariance term suggests:
//     G1_i = 2·(−z2m_i + λ·Σ_m (z1_i·z1m_m) z1m_m / N),   G2_i = 2·(−z1m_i + λ·Σ_m (z2_i·z2m_m) z2m_m / N)
//   i.e. G1 = 2·(−Z2m + λ·Z1·(Z1mᵀZ1m)/N): the same factor 2, λ (default 50) and N = wholeBatchSize as the
//   Barlow Twins gradient (spec §3.4), but the weights come from the anchor's own view rather than the other
//   view's targets. In no_mm the targets are the stop-gradient online embeddings. Equivalent closed form:
//   L = 0.5·[mean_i 2(−z1_i·z2m_i + (λ/2N) Σ_m (z1_i·z1m_m)²) + (1↔2)].
import * as tf from '@tensorflow/tfjs';
import { checkInputs, constant, detachedOnline, gradientViews, LossInputError, need, positiveSimilarity, resolveHyper, surrogate, tableRow } from './common';
import { offDiagonalSquareSum, weightedRowSum, wholeBatch } from './decorrelation';
import type { Hyper, LossInputs, LossOutput, Method, MethodState, TargetMode } from './types';

const defaults: Hyper = { lambda: 50 };
const originalDefaults: Hyper = { simCoeff: 25, stdCoeff: 25, covCoeff: 1 };

function gradient(inputs: LossInputs, target: TargetMode, _state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper('vicreg', defaults, hyper, ['lambda', 'wholeBatchSize']);
  const lambda = need('vicreg', h, 'lambda');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews('vicreg', inputs, target);
  const N = wholeBatch('vicreg', h.wholeBatchSize, z1.shape[0]);
  const G1 = constant(() => tf.sub(weightedRowSum(s1, t1, t1).mul(lambda / N), t2).mul(2) as tf.Tensor2D);
  const G2 = constant(() => tf.sub(weightedRowSum(s2, t2, t2).mul(lambda / N), t1).mul(2) as tf.Tensor2D);
  return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, t2, s2, t1), state: {} };
}

function branchTerms(x: tf.Tensor2D): { std: tf.Scalar; cov: tf.Scalar } {
  const [n, d] = x.shape;
  const centred = tf.sub(x, tf.mean(x, 0, true)) as tf.Tensor2D;
  const variance = tf.sum(tf.square(centred), 0).div(n - 1);
  const std = tf.mean(tf.relu(tf.sub(1, tf.sqrt(tf.add(variance, 1e-4))))).div(2) as tf.Scalar;
  const cov = tf.matMul(centred, centred, true, false).div(n - 1) as tf.Tensor2D;
  return { std, cov: offDiagonalSquareSum(cov).div(d) as tf.Scalar };
}

function original(inputs: LossInputs, _state: MethodState, hyper?: Hyper): LossOutput {
  checkInputs('vicreg', inputs);
  const h = resolveHyper('vicreg', originalDefaults, hyper, ['simCoeff', 'stdCoeff', 'covCoeff']);
  if (inputs.p1.shape[0] < 2) throw new LossInputError('vicreg: the original loss uses the unbiased batch variance and needs N >= 2');
  const x = inputs.p1;
  const y = inputs.p2;
  const invariance = tf.mean(tf.square(tf.sub(x, y)));
  const bx = branchTerms(x);
  const by = branchTerms(y);
  const loss = tf.addN([
    invariance.mul(need('vicreg', h, 'simCoeff')),
    tf.add(bx.std, by.std).mul(need('vicreg', h, 'stdCoeff')),
    tf.add(bx.cov, by.cov).mul(need('vicreg', h, 'covCoeff')),
  ]) as tf.Scalar;
  const { s1, s2 } = detachedOnline(inputs);
  return { loss, posSim: positiveSimilarity(s1, s2, s2, s1), state: {} };
}

export const vicreg: Method = {
  name: 'vicreg',
  label: 'VICReg',
  defaults,
  originalDefaults,
  hasOriginal: true,
  originalNeeds: { predictor: false, target: 'none' },
  dimScaled: ['lambda'],
  batchSized: ['wholeBatchSize'],
  rows: [
    tableRow('vicreg', 'VICReg', {
      original: 'VICReg: 25·invariance + 25·variance + 1·covariance on raw projector outputs (spec §5).',
      'grad-no-mm': 'Feature-decorrelation gradient for VICReg (libs/losses/src/vicreg.ts documents the choice) with stop-gradient online targets.',
      'grad-mm': 'Feature-decorrelation gradient for VICReg (libs/losses/src/vicreg.ts documents the choice) with the momentum encoder.',
    }),
  ],
  original,
  gradient,
  initialState: () => ({}),
};
