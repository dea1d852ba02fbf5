// MoCo (spec §4.1 conventions: τ 0.2, symmetric, queue update drops the 2n oldest rows and appends z1m then z2m).
// The queue (oldest row first) is explicit state. Without a queue in the state it starts empty and fills up to
// hyper.queueSize; with one and no hyper.queueSize its size is kept (so each step drops exactly 2n rows).
// Original: InfoNCE of z1 against {z2m_i} ∪ queue with constant keys, symmetrised.
// Gradient form: G1_i = (−z2m_i + Σ_{v ∈ {z2m_i} ∪ queue} s_v v)/τ, s = softmax(<z1_i, v>/τ); in no_mm the keys
// are the stop-gradient online embeddings. Its gradient equals the original's (keys carry no gradient either way).
import * as tf from '@tensorflow/tfjs';
import { checkInputs, constant, detachedOnline, gradientViews, LossInputError, need, normalizeRows, positiveSimilarity, resolveHyper, rowDot, surrogate, tableRow } from './common';
import type { Hyper, LossInputs, LossOutput, Method, MethodState, TargetMode } from './types';

// MoCo's own queue: 65,536 keys (≈5% of ImageNet's 1.28M images). Presets size it to their dataset by the same
// share (configs/presets.ts, perMethod.moco.queueSize).
const defaults: Hyper = { tau: 0.2, queueSize: 65536 };

function checkQueue(state: MethodState, dim: number): tf.Tensor2D | undefined {
  const queue = state?.queue;
  if (!queue) return undefined;
  if (queue.rank !== 2 || queue.shape[1] !== dim) {
    throw new LossInputError(`moco: state.queue must be K×${dim} (K×D), got shape [${queue.shape.join(', ')}]`);
  }
  return queue.shape[0] > 0 ? queue : undefined;
}

function capacity(hyper: Hyper | undefined, state: MethodState): number {
  const requested = hyper?.queueSize;
  if (requested !== undefined) return requested;
  return state?.queue ? state.queue.shape[0] : (defaults.queueSize as number);
}

/** Drops the oldest rows so that [queue; t1; t2] keeps at most `cap` rows. */
export function nextQueue(queue: tf.Tensor2D | undefined, t1: tf.Tensor2D, t2: tf.Tensor2D, cap: number): tf.Tensor2D {
  return constant(() => {
    const all = tf.concat(queue ? [queue, t1, t2] : [t1, t2], 0) as tf.Tensor2D;
    const rows = all.shape[0];
    return rows > cap ? all.slice([rows - cap, 0], [cap, all.shape[1]]) : all;
  });
}

/** Logits [<z, positive>, <z, queue>]/τ, positive first. */
function logits(z: tf.Tensor2D, positive: tf.Tensor2D, queue: tf.Tensor2D | undefined, tau: number): tf.Tensor2D {
  const pos = rowDot(z, positive).div(tau) as tf.Tensor2D;
  return queue ? (tf.concat([pos, tf.matMul(z, queue, false, true).div(tau)], 1) as tf.Tensor2D) : pos;
}

function gradientRows(s: tf.Tensor2D, positive: tf.Tensor2D, queue: tf.Tensor2D | undefined, tau: number): tf.Tensor2D {
  return tf.tidy(() => {
    const S = tf.softmax(logits(s, positive, queue, tau));
    let weighted = tf.mul(S.slice([0, 0], [-1, 1]), positive);
    if (queue) weighted = tf.add(weighted, tf.matMul(S.slice([0, 1], [-1, -1]), queue));
    return tf.sub(weighted, positive).div(tau) as tf.Tensor2D;
  });
}

function gradient(inputs: LossInputs, target: TargetMode, state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper('moco', defaults, hyper, ['tau', 'queueSize']);
  const tau = need('moco', h, 'tau');
  const { z1, z2, s1, s2, t1, t2 } = gradientViews('moco', inputs, target);
  const queue = checkQueue(state, z1.shape[1]);
  const G1 = constant(() => gradientRows(s1, t2, queue, tau));
  const G2 = constant(() => gradientRows(s2, t1, queue, tau));
  return {
    loss: surrogate(G1, z1, G2, z2),
    posSim: positiveSimilarity(s1, t2, s2, t1),
    state: { queue: nextQueue(queue, t1, t2, capacity(hyper, state)) },
  };
}

function original(inputs: LossInputs, state: MethodState, hyper?: Hyper): LossOutput {
  const h = resolveHyper('moco', defaults, hyper, ['tau', 'queueSize']);
  const tau = need('moco', h, 'tau');
  checkInputs('moco', inputs, ['p1m', 'p2m']);
  const z1 = normalizeRows(inputs.p1);
  const z2 = normalizeRows(inputs.p2);
  const t1 = constant(() => normalizeRows(inputs.p1m as tf.Tensor2D));
  const t2 = constant(() => normalizeRows(inputs.p2m as tf.Tensor2D));
  const queue = checkQueue(state, z1.shape[1]);
  const infoNce = (z: tf.Tensor2D, positive: tf.Tensor2D) => {
    const l = logits(z, positive, queue, tau);
    return tf.mean(tf.sub(tf.logSumExp(l, 1, true), l.slice([0, 0], [-1, 1])));
  };
  const loss = tf.add(infoNce(z1, t2), infoNce(z2, t1)).mul(0.5) as tf.Scalar;
  const { s1, s2 } = detachedOnline(inputs);
  return {
    loss,
    posSim: positiveSimilarity(s1, t2, s2, t1),
    state: { queue: nextQueue(queue, t1, t2, capacity(hyper, state)) },
  };
}

/** A full queue of `queueSize` random unit rows (Gaussian directions from the given seeded generator). */
function initialState(dim: number, hyper: Hyper | undefined, rng: { normal(): number }): MethodState {
  const size = need('moco', resolveHyper('moco', defaults, hyper, ['queueSize']), 'queueSize');
  if (!Number.isInteger(dim) || dim < 1) throw new LossInputError(`moco: embedding dimension must be a positive integer, got ${dim}`);
  const values = new Float32Array(size * dim);
  for (let r = 0; r < size; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      const v = rng.normal();
      values[r * dim + c] = v;
      norm += v * v;
    }
    norm = Math.max(Math.sqrt(norm), 1e-12);
    for (let c = 0; c < dim; c++) values[r * dim + c] /= norm;
  }
  return { queue: tf.tensor2d(values, [size, dim], 'float32') };
}

export const moco: Method = {
  name: 'moco',
  label: 'MoCo',
  defaults,
  originalDefaults: defaults,
  hasOriginal: true,
  originalNeeds: { predictor: false, target: 'ema' },
  dimScaled: [],
  batchSized: [],
  rows: [
    tableRow('moco', 'MoCo', {
      original: 'MoCo\'s InfoNCE with a queue of past momentum-encoder keys (spec §4.1 conventions: τ 0.2, symmetric, queue updated after use).',
      'grad-no-mm': 'Contrastive gradient over {positive} ∪ queue (spec §4.1) with stop-gradient online targets and keys.',
      'grad-mm': 'Contrastive gradient over {positive} ∪ queue (spec §4.1) with momentum-encoder targets and keys.',
    }),
  ],
  original,
  gradient,
  initialState,
};
