// One supervised step on named variables: mean cross-entropy, gradients by tf.variableGrads, an Optimizer update.
import * as tf from '@tensorflow/tfjs';
import type { Optimizer } from '@unigrad/optimizers';

/** Mean softmax cross-entropy of logits [N, C] against integer labels [N]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/**
 * Computes the loss with `forward`, takes gradients w.r.t. `params` only and applies them. Returns the loss
 * (the caller disposes it). Variables outside `params` receive no gradient and are never updated.
 */
export function supervisedStep(
  params: Map<string, tf.Variable>,
  optimizer: Optimizer,
  lr: number,
  forward: () => tf.Scalar,
): tf.Scalar {
  const byVarName = new Map<string, string>();
  for (const [name, v] of params) byVarName.set(v.name, name);
  const { value, grads } = tf.variableGrads(forward, [...params.values()]);
  const named = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName) as string, g);
  try {
    optimizer.step(params, named, lr);
  } finally {
    tf.dispose(Object.values(grads));
  }
  return value;
}
