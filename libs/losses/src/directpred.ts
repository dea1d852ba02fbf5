// The DirectPred asymmetric-network gradient shared by BYOL-grad and SimSiam-grad (spec §3.3), including the
// official A = F/s_max + ε²I approximation of W_p² (do not "fix" it: the official numbers depend on it).
import * as tf from '@tensorflow/tfjs';
import { checkF, constant, gradientViews, need, positiveSimilarity, resolveHyper, rowDot, surrogate, targetCorrelation, updateF } from './common';
import { maxEigenvalueSym, sqrtPsdUnit } from './linalg';
import type { Hyper, LossInputs, LossOutput, MethodName, MethodState, TargetMode } from './types';

export const directPredDefaults: Hyper = { rho: 0.99, eps: 0.3 };

/** W_p = (F/s_max)^{1/2} + εI and A = F/s_max + ε²I (D×D constants, computed off the gradient tape). */
export function directPredMatrices(F: tf.Tensor2D, eps: number): { Wp: tf.Tensor2D; A: tf.Tensor2D } {
  const D = F.shape[0];
  const M = constant(() => F.div(tf.maximum(maxEigenvalueSym(F), 1e-30)) as tf.Tensor2D);
  const Wp = constant(() => sqrtPsdUnit(M).add(tf.eye(D).mul(eps)) as tf.Tensor2D);
  const A = constant(() => M.add(tf.eye(D).mul(eps * eps)) as tf.Tensor2D);
  M.dispose();
  return { Wp, A };
}

/** g_i = (−W_p t_i + a_i A u_i) / ‖W_p u_i‖ with a_i = <W_p u_i, t_i> / (u_iᵀ A u_i), row form (W_p, A symmetric). */
export function directPredRows(u: tf.Tensor2D, t: tf.Tensor2D, Wp: tf.Tensor2D, A: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const Wu = tf.matMul(u, Wp) as tf.Tensor2D;
    const Au = tf.matMul(u, A) as tf.Tensor2D;
    const c = tf.sqrt(tf.sum(tf.square(Wu), 1, true));
    const a = rowDot(Wu, t).div(rowDot(u, Au));
    return tf.add(tf.neg(tf.matMul(t, Wp)), tf.mul(a, Au)).div(c) as tf.Tensor2D;
  });
}

export function directPredGradient(method: MethodName, inputs: LossInputs, target: TargetMode, state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper(method, directPredDefaults, hyper, ['rho', 'eps']);
  const rho = need(method, h, 'rho');
  const eps = need(method, h, 'eps');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews(method, inputs, target);
  const previousF = checkF(method, state, z1.shape[1]);
  const F = constant(() => updateF(previousF, targetCorrelation(t1, t2), rho));
  const { Wp, A } = directPredMatrices(F, eps);
  const G1 = constant(() => directPredRows(s1, t2, Wp, A));
  const G2 = constant(() => directPredRows(s2, t1, Wp, A));
  Wp.dispose();
  A.dispose();
  return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, t2, s2, t1), state: { F } };
}
