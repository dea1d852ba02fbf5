// Loss value, logged positive similarity, new state and d loss / d input for one call, as plain arrays.
// Used by the loss probe (tools/loss-probe.ts) and the tests; training differentiates w.r.t. weights instead.
import * as tf from '@tensorflow/tfjs';
import type { Form, Hyper, LossInputs, Method, MethodState, TargetMode } from './types';

export type Matrix = number[][];
export type DifferentiableInput = 'p1' | 'p2' | 'q1' | 'q2';

export interface EvaluatedLoss {
  value: number;
  posSim: number;
  /** d value / d input for every differentiable input given; zeros where the value does not depend on it. */
  grads: Partial<Record<DifferentiableInput, Matrix>>;
  state: { F?: Matrix; queue?: Matrix };
}

function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}

export function evaluateWithInputGradients(
  method: Method,
  form: Form,
  target: TargetMode,
  inputs: LossInputs,
  state: MethodState = {},
  hyper?: Hyper,
): EvaluatedLoss {
  const keys = (['p1', 'p2', 'q1', 'q2'] as const).filter((k) => inputs[k] !== undefined);
  const variables = new Map<DifferentiableInput, tf.Variable<tf.Rank.R2>>();
  for (const k of keys) variables.set(k, tf.variable(inputs[k] as tf.Tensor2D, true));
  let posSim: tf.Scalar | undefined;
  let newState: MethodState = {};
  try {
    const watched: LossInputs = { ...inputs };
    for (const [k, v] of variables) watched[k] = v;
    const { value, grads } = tf.variableGrads(() => {
      const out = form === 'grad' ? method.gradient(watched, target, state, hyper) : method.original(watched, state, hyper);
      posSim = tf.keep(out.posSim);
      newState = {};
      if (out.state.F) newState.F = tf.keep(out.state.F);
      if (out.state.queue) newState.queue = tf.keep(out.state.queue);
      return out.loss;
    }, [...variables.values()]);
    const result: EvaluatedLoss = { value: value.dataSync()[0], posSim: (posSim as tf.Scalar).dataSync()[0], grads: {}, state: {} };
    for (const [k, v] of variables) {
      const g = grads[v.name];
      result.grads[k] = g ? (g.arraySync() as Matrix) : zeros(v.shape[0], v.shape[1]);
    }
    if (newState.F) result.state.F = newState.F.arraySync();
    if (newState.queue) result.state.queue = newState.queue.arraySync();
    tf.dispose([value, ...Object.values(grads)]);
    return result;
  } finally {
    tf.dispose([...variables.values()]);
    if (posSim) posSim.dispose();
    tf.dispose([newState.F, newState.queue].filter((t): t is tf.Tensor2D => t !== undefined));
  }
}
