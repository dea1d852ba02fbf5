// Shared building blocks of every loss: stop-gradient, row normalisation, target selection, the F state and the
// surrogate. Conventions follow spec §2: z = p / max(‖p‖, 1e-12); gradient forms return
// 0.5·(mean_i <sg(G1_i), z1_i> + mean_i <sg(G2_i), z2_i>).
import * as tf from '@tensorflow/tfjs';
import type { Hyper, LossInputs, MethodName, MethodState, RowSpec, TargetMode, Variant } from './types';

export const NORM_EPS = 1e-12;

/** Bad input to a loss: the message names the problem and the fix. */
export class LossInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LossInputError';
  }
}

/** Identity forwards, zero gradient backwards (TF.js has no stop_gradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const sg = tf.customGrad((input) => ({
    value: (input as tf.Tensor).clone() as T,
    gradFunc: (dy: T) => tf.zerosLike(dy),
  }));
  return sg(x) as T;
}

/**
 * Runs `compute` off the gradient tape and returns its result as a constant. Cheaper than stopGradient for
 * whole computations: nothing inside is recorded, so backprop never walks through it (DirectPred's matrix
 * iterations would otherwise be back-propagated with zero gradients). Intermediates are disposed.
 */
export function constant<T extends tf.Tensor>(compute: () => T): T {
  return tf.customGrad<T>(() => ({ value: tf.tidy(() => compute().clone()), gradFunc: () => [] }))();
}

/** Row-wise L2 normalisation z = p / max(‖p‖₂, 1e-12). */
export function normalizeRows(p: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => p.div(tf.maximum(tf.sqrt(tf.sum(tf.square(p), 1, true)), NORM_EPS)));
}

/** Row-wise dot products <a_i, b_i> as an N×1 column. */
export function rowDot(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.sum(tf.mul(a, b), 1, true) as tf.Tensor2D;
}

/** Batch correlation of the targets of both views: (T1ᵀT1 + T2ᵀT2) / (2n), spec §3.1 step 1. */
export function targetCorrelation(t1: tf.Tensor2D, t2: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(t1, t1, true, false), tf.matMul(t2, t2, true, false)).div(2 * t1.shape[0]));
}

/** F update, done before F is used: F := T on the first call, else ρF + (1−ρ)T (spec §3.1 step 3). */
export function updateF(previous: tf.Tensor2D | undefined, batchCorrelation: tf.Tensor2D, rho: number): tf.Tensor2D {
  if (!previous) return batchCorrelation.clone();
  return tf.tidy(() => tf.add(previous.mul(rho), batchCorrelation.mul(1 - rho)));
}

/** The surrogate 0.5·(mean_i <G1_i, z1_i> + mean_i <G2_i, z2_i>) with G1, G2 constants. */
export function surrogate(G1: tf.Tensor2D, z1: tf.Tensor2D, G2: tf.Tensor2D, z2: tf.Tensor2D): tf.Scalar {
  const n = z1.shape[0];
  return tf.add(tf.sum(tf.mul(G1, z1)), tf.sum(tf.mul(G2, z2))).div(2 * n) as tf.Scalar;
}

/** Logged positive similarity 0.5·(mean z1·a2 + mean z2·a1), a constant. */
/** The L2-normalised online embeddings as constants (for logging and stop-gradient targets). */
export function detachedOnline(inputs: { p1: tf.Tensor2D; p2: tf.Tensor2D }): { s1: tf.Tensor2D; s2: tf.Tensor2D } {
  return { s1: constant(() => normalizeRows(inputs.p1)), s2: constant(() => normalizeRows(inputs.p2)) };
}

export function positiveSimilarity(z1: tf.Tensor2D, a2: tf.Tensor2D, z2: tf.Tensor2D, a1: tf.Tensor2D): tf.Scalar {
  return constant(() => tf.add(tf.mean(rowDot(z1, a2)), tf.mean(rowDot(z2, a1))).mul(0.5) as tf.Scalar);
}

function describeShape(x: tf.Tensor | undefined): string {
  return x ? `[${x.shape.join(', ')}]` : 'missing';
}

function checkMatrix(method: MethodName, name: string, x: tf.Tensor | undefined, like?: tf.Tensor): void {
  if (!x) throw new LossInputError(`${method}: input ${name} is missing`);
  if (x.rank !== 2) throw new LossInputError(`${method}: ${name} must be a 2-D N×D matrix, got shape ${describeShape(x)}`);
  if (x.dtype !== 'float32') throw new LossInputError(`${method}: ${name} must be float32, got ${x.dtype}`);
  if (like && (x.shape[0] !== like.shape[0] || x.shape[1] !== like.shape[1])) {
    throw new LossInputError(`${method}: ${name} has shape ${describeShape(x)} but p1 has ${describeShape(like)}; every input must be N×D`);
  }
}

/** Checks p1/p2 (and optionally the named extra inputs) are float32 N×D with one shape. */
export function checkInputs(method: MethodName, inputs: LossInputs, needed: ('p1m' | 'p2m' | 'q1' | 'q2')[] = []): void {
  checkMatrix(method, 'p1', inputs.p1);
  checkMatrix(method, 'p2', inputs.p2, inputs.p1);
  if (inputs.p1.shape[0] < 1 || inputs.p1.shape[1] < 1) throw new LossInputError(`${method}: p1 is empty (${describeShape(inputs.p1)})`);
  for (const key of needed) {
    if (!inputs[key]) {
      const hint = key.startsWith('q') ? 'predictor outputs q1 and q2' : 'the momentum-encoder outputs p1m and p2m';
      throw new LossInputError(`${method}: input ${key} is missing; this form needs ${hint}`);
    }
    checkMatrix(method, key, inputs[key], inputs.p1);
  }
  if (inputs.mixedPositives && method !== 'unigrad') {
    throw new LossInputError(`${method}: mixedPositives (CutMix targets) is only supported by the unigrad gradient form`);
  }
}

/**
 * Online embeddings (with gradient), their constant copies, and the constant targets for a gradient form.
 * mm: targets are the normalised p1m/p2m; no_mm: the stop-gradient online embeddings of this step (spec §6.2).
 */
export interface Views {
  z1: tf.Tensor2D;
  z2: tf.Tensor2D;
  /** sg(z1), sg(z2). */
  s1: tf.Tensor2D;
  s2: tf.Tensor2D;
  /** Targets of view 1 / view 2. */
  t1: tf.Tensor2D;
  t2: tf.Tensor2D;
}

export function gradientViews(method: MethodName, inputs: LossInputs, target: TargetMode): Views {
  if (target !== 'mm' && target !== 'no_mm') {
    throw new LossInputError(`${method}: target mode must be 'mm' or 'no_mm', got ${JSON.stringify(target)}`);
  }
  checkInputs(method, inputs, target === 'mm' ? ['p1m', 'p2m'] : []);
  const z1 = normalizeRows(inputs.p1);
  const z2 = normalizeRows(inputs.p2);
  const { s1, s2 } = detachedOnline(inputs);
  if (target === 'no_mm') return { z1, z2, s1, s2, t1: s1, t2: s2 };
  const t1 = constant(() => normalizeRows(inputs.p1m as tf.Tensor2D));
  const t2 = constant(() => normalizeRows(inputs.p2m as tf.Tensor2D));
  return { z1, z2, s1, s2, t1, t2 };
}

/** Validates F from the state against the embedding dimension. */
export function checkF(method: MethodName, state: MethodState, dim: number): tf.Tensor2D | undefined {
  const F = state?.F;
  if (!F) return undefined;
  if (F.rank !== 2 || F.shape[0] !== dim || F.shape[1] !== dim) {
    throw new LossInputError(`${method}: state.F must be ${dim}×${dim} (D×D), got shape ${describeShape(F)}; drop it to start from the first step`);
  }
  return F;
}

type Key = keyof Hyper;

/** What each hyper-parameter is and its valid range: the one place both the losses and the config schema check. */
export const HYPER_RULES: Readonly<Record<Key, { doc: string; check: (v: number) => boolean; range: string }>> = {
  lambda: { doc: 'UniGrad λ; Barlow Twins / VICReg decorrelation weight', check: (v) => v >= 0, range: '>= 0' },
  rho: { doc: 'EMA factor of the correlation state F', check: (v) => v >= 0 && v <= 1, range: 'in [0, 1]' },
  eps: { doc: 'DirectPred ε (W_p = (F/s_max)^{1/2} + εI)', check: (v) => v >= 1e-4, range: '>= 1e-4 (the official clamp max(d, 1e-4) is then inactive)' },
  tau: { doc: 'contrastive temperature', check: (v) => v > 0, range: '> 0' },
  wholeBatchSize: { doc: 'Barlow Twins / VICReg gradient divisor N (default: the batch size)', check: (v) => Number.isInteger(v) && v >= 1, range: 'a positive integer' },
  simCoeff: { doc: 'VICReg invariance coefficient', check: (v) => v >= 0, range: '>= 0' },
  stdCoeff: { doc: 'VICReg variance coefficient', check: (v) => v >= 0, range: '>= 0' },
  covCoeff: { doc: 'VICReg covariance coefficient', check: (v) => v >= 0, range: '>= 0' },
  queueSize: { doc: 'MoCo queue capacity (keys)', check: (v) => Number.isInteger(v) && v >= 1, range: 'a positive integer' },
};

export const HYPER_KEYS = Object.keys(HYPER_RULES) as Key[];

/** The problem with one hyper value, or undefined when it is valid. */
export function hyperProblem(key: Key, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a finite number, got ${JSON.stringify(value)}`;
  return HYPER_RULES[key].check(value) ? undefined : `must be ${HYPER_RULES[key].range}, got ${value}`;
}

/** Fills missing hyper-parameters from the defaults and checks the ones this method uses. */
export function resolveHyper(method: MethodName, defaults: Readonly<Hyper>, hyper: Hyper | undefined, used: Key[]): Hyper {
  const merged: Hyper = { ...defaults };
  for (const [k, v] of Object.entries(hyper ?? {})) if (v !== undefined) merged[k as Key] = v;
  for (const key of used) {
    if (merged[key] === undefined) continue;
    const problem = hyperProblem(key, merged[key]);
    if (problem) throw new LossInputError(`${method}: hyper.${key} ${problem}`);
  }
  return merged;
}

/** A hyper value that resolveHyper guaranteed through the defaults. */
export function need(method: MethodName, hyper: Hyper, key: Key): number {
  const v = hyper[key];
  if (v === undefined) throw new LossInputError(`${method}: hyper.${key} is required`);
  return v;
}

/** Original asymmetric loss (spec §5, SimSiam scaling): 0.5·mean(−cos(q1, t2)) + 0.5·mean(−cos(q2, t1)), t unit and constant. */
export function predictorCosineLoss(q1: tf.Tensor2D, t2: tf.Tensor2D, q2: tf.Tensor2D, t1: tf.Tensor2D): tf.Scalar {
  return tf.add(tf.mean(rowDot(normalizeRows(q1), t2)), tf.mean(rowDot(normalizeRows(q2), t1))).mul(-0.5) as tf.Scalar;
}

/** A method's table row: one cell per described variant, in column order (original, w/o mm, w/ mm). */
export function tableRow(row: string, label: string, descriptions: Partial<Record<Variant, string>>): RowSpec {
  const order: Variant[] = ['original', 'grad-no-mm', 'grad-mm'];
  return { row, label, cells: order.filter((v) => descriptions[v]).map((variant) => ({ variant, description: descriptions[variant]! })) };
}
