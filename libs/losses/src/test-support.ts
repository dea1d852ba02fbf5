// Test helpers: run a method on plain arrays, and autodiff a closed-form loss of p1, p2 (float32, cpu backend).
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import { evaluateWithInputGradients, type EvaluatedLoss } from './evaluate';
import { randomMatrix, type Mat } from './js-reference';
import { getMethod } from './registry';
import type { Form, Hyper, TargetMode } from './types';

export interface ArrayInputs {
  p1: Mat;
  p2: Mat;
  p1m?: Mat;
  p2m?: Mat;
  q1?: Mat;
  q2?: Mat;
}

const toTensor = (m: Mat | undefined) => (m ? tf.tensor2d(m, undefined, 'float32') : undefined);

export function run(
  method: string,
  form: Form,
  target: TargetMode,
  inputs: ArrayInputs,
  state: { F?: Mat; queue?: Mat } = {},
  hyper?: Hyper,
): EvaluatedLoss {
  const t = {
    p1: toTensor(inputs.p1) as tf.Tensor2D,
    p2: toTensor(inputs.p2) as tf.Tensor2D,
    p1m: toTensor(inputs.p1m),
    p2m: toTensor(inputs.p2m),
    q1: toTensor(inputs.q1),
    q2: toTensor(inputs.q2),
  };
  const s = { F: toTensor(state.F), queue: toTensor(state.queue) };
  try {
    return evaluateWithInputGradients(getMethod(method), form, target, t, s, hyper);
  } finally {
    tf.dispose([...Object.values(t), ...Object.values(s)].filter((x): x is tf.Tensor2D => x !== undefined));
  }
}

/** Value and d/dp1, d/dp2 of a closed-form loss written in TF.js. */
export function closedForm(f: (p1: tf.Tensor2D, p2: tf.Tensor2D) => tf.Scalar, p1: Mat, p2: Mat): { value: number; g1: Mat; g2: Mat } {
  return tf.tidy(() => {
    const a = tf.tensor2d(p1, undefined, 'float32');
    const b = tf.tensor2d(p2, undefined, 'float32');
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => f(x as tf.Tensor2D, y as tf.Tensor2D))([a, b]);
    return { value: value.dataSync()[0], g1: grads[0].arraySync() as Mat, g2: grads[1].arraySync() as Mat };
  });
}

/** Random raw projector-like outputs: online p1, p2 and nearby target outputs p1m, p2m. */
export function randomInputs(n: number, d: number, seed: number): Required<ArrayInputs> {
  const rng = new Rng(seed);
  const p1 = randomMatrix(n, d, rng, 1, 0.2);
  const p2 = randomMatrix(n, d, rng, 1, 0.2);
  const near = (m: Mat) => m.map((r) => r.map((v) => v + 0.3 * rng.normal()));
  return { p1, p2, p1m: near(p1), p2m: near(p2), q1: randomMatrix(n, d, rng), q2: randomMatrix(n, d, rng) };
}

export const c = (m: Mat) => tf.tensor2d(m, undefined, 'float32');
