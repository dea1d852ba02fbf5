// Multinomial logistic regression on cached features, fitted to convergence with full-batch L-BFGS.
//
// Objective (W [dim, C], b [C]):   J(W, b) = (1/n) Σᵢ CE(softmax(xᵢW + b), yᵢ) + (l2/2)·‖W‖²_F   (no penalty on b).
// tfjs computes the per-row losses and the closed-form gradient ∇W = Xᵀ(P − Y)/n + l2·W, ∇b = Σᵢ(P − Y)ᵢ/n in
// float32; the per-row losses are summed and the penalty added in float64, and L-BFGS (lbfgs.ts) keeps the iterate
// in float64. J is convex (strictly for l2 > 0), so the fit is deterministic and independent of the starting point
// up to the tolerances; there is no learning rate and no schedule to tune.
import * as tf from '@tensorflow/tfjs';
import { countTopKCorrect } from './accuracy';
import { FeatureSet, checkFeatureSet, checkLabels } from './batches';
import type { TopKResult } from './knn';
import { LbfgsOptions, LbfgsStopReason, minimizeLbfgs } from './lbfgs';
import { FeatureStandardizer, standardizeRow } from './standardize';

/** A fitted linear classifier: scores = x·W + b, W row-major [dim, numClasses]. Plain arrays, nothing to dispose. */
export interface LogisticModel {
  dim: number;
  numClasses: number;
  weight: Float32Array;
  bias: Float32Array;
  /** The L2 strength it was fitted with. */
  l2: number;
}

export interface LogisticFitOptions extends Omit<LbfgsOptions, 'onIteration'> {
  numClasses: number;
  /** Strength of (l2/2)·‖W‖² added to the mean cross-entropy; the bias is not penalised. Default 0. */
  l2?: number;
  /** Warm start (e.g. the solution for a neighbouring l2); default W = 0, b = 0. */
  init?: LogisticModel;
  /** Called after every L-BFGS iteration with the objective and ‖∇J‖∞. */
  onIteration?: (iteration: number, loss: number, gradNorm: number) => void;
}

/** How a fit ended. */
export interface LogisticFitSummary {
  /** L-BFGS iterations (accepted steps). */
  iterations: number;
  /** Objective evaluations (forward + backward passes over the training rows). */
  evaluations: number;
  /** Final objective J: mean cross-entropy + (l2/2)·‖W‖². */
  trainLoss: number;
  /** ‖∇J‖∞ at the returned point. */
  gradNorm: number;
  /** Stopped on the gradient or relative-loss tolerance (not on maxIterations or a failed line search). */
  converged: boolean;
  stopReason: LbfgsStopReason;
  seconds: number;
}

export interface LogisticFit extends LogisticFitSummary {
  model: LogisticModel;
}

/**
 * Fits the multinomial logistic regression on `train` (use standardised features: the penalty and the conditioning
 * both assume comparable scales across dimensions). Defaults: L-BFGS memory 10, at most 1000 iterations,
 * ‖∇J‖∞ ≤ 1e-4 or a relative decrease ≤ 1e-9.
 */
export function fitLogisticRegression(train: FeatureSet, options: LogisticFitOptions): LogisticFit {
  checkFeatureSet('logistic regression features', train);
  const { numClasses } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  checkLabels('logistic regression labels', train.labels, numClasses);
  const l2 = options.l2 ?? 0;
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`l2 must be a finite number >= 0, got ${l2}`);
  const { count: n, dim } = train;
  const nw = dim * numClasses;
  const theta0 = new Float64Array(nw + numClasses);
  if (options.init) {
    const init = options.init;
    if (init.dim !== dim || init.numClasses !== numClasses) {
      throw new Error(`logistic regression init is [${init.dim}, ${init.numClasses}], expected [${dim}, ${numClasses}]`);
    }
    theta0.set(init.weight, 0);
    theta0.set(init.bias, nw);
  }
  const start = Date.now();
  const x = tf.tensor2d(train.features, [n, dim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, 'int32'), numClasses).toFloat() as tf.Tensor2D);
  const w32 = new Float32Array(nw);
  const b32 = new Float32Array(numClasses);
  const objective = (theta: Float64Array): { value: number; grad: Float64Array } => {
    for (let i = 0; i < nw; i++) w32[i] = theta[i];
    for (let c = 0; c < numClasses; c++) b32[c] = theta[nw + c];
    const [rowLoss, gw, gb] = tf.tidy(() => {
      const z = tf.add(tf.matMul(x, tf.tensor2d(w32, [dim, numClasses])), tf.tensor1d(b32));
      const logp = tf.sub(z, tf.logSumExp(z, 1, true));
      const residual = tf.div(tf.sub(tf.exp(logp), y), n); // (P − Y)/n
      return [tf.neg(tf.sum(tf.mul(logp, y), 1)), tf.matMul(x, residual, true, false), tf.sum(residual, 0)];
    });
    const losses = rowLoss.dataSync();
    const gwv = gw.dataSync();
    const gbv = gb.dataSync();
    tf.dispose([rowLoss, gw, gb]);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += losses[i];
    let penalty = 0;
    const grad = new Float64Array(nw + numClasses);
    for (let i = 0; i < nw; i++) {
      penalty += theta[i] * theta[i];
      grad[i] = gwv[i] + l2 * theta[i];
    }
    for (let c = 0; c < numClasses; c++) grad[nw + c] = gbv[c];
    return { value: sum / n + 0.5 * l2 * penalty, grad };
  };
  try {
    const onIteration = options.onIteration;
    const r = minimizeLbfgs(objective, theta0, {
      memory: options.memory,
      maxIterations: options.maxIterations,
      gradTol: options.gradTol,
      lossTol: options.lossTol,
      c1: options.c1,
      c2: options.c2,
      maxLineSearchEvaluations: options.maxLineSearchEvaluations,
      onIteration: onIteration ? (info) => onIteration(info.iteration, info.value, info.gradNorm) : undefined,
    });
    return {
      model: { dim, numClasses, weight: Float32Array.from(r.x.subarray(0, nw)), bias: Float32Array.from(r.x.subarray(nw)), l2 },
      iterations: r.iterations,
      evaluations: r.evaluations,
      trainLoss: r.value,
      gradNorm: r.gradNorm,
      converged: r.converged,
      stopReason: r.stopReason,
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    tf.dispose([x, y]);
  }
}

/**
 * Class scores [set.count, numClasses] (row-major) of the model on `set`, standardising each row with
 * `standardizer` first when given (in chunks: no standardised copy of the whole set is made).
 */
export function logisticScores(model: LogisticModel, set: FeatureSet, standardizer?: FeatureStandardizer | null, chunkSize = 4096): Float32Array {
  checkFeatureSet('logistic regression features', set);
  if (set.dim !== model.dim) throw new Error(`logistic regression: features have dim ${set.dim}, the model ${model.dim}`);
  if (standardizer && standardizer.dim !== set.dim) throw new Error(`logistic regression: features have dim ${set.dim}, the standardizer ${standardizer.dim}`);
  const { dim, numClasses } = model;
  const scores = new Float32Array(set.count * numClasses);
  const w = tf.tensor2d(model.weight, [dim, numClasses]);
  const b = tf.tensor1d(model.bias);
  const rows = new Float32Array(Math.min(chunkSize, set.count) * dim);
  try {
    for (let start = 0; start < set.count; start += chunkSize) {
      const size = Math.min(chunkSize, set.count - start);
      let chunk: Float32Array;
      if (standardizer) {
        chunk = rows.subarray(0, size * dim);
        for (let r = 0; r < size; r++) standardizeRow(set.features, (start + r) * dim, chunk, r * dim, standardizer);
      } else {
        chunk = set.features.subarray(start * dim, (start + size) * dim);
      }
      const out = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(chunk, [size, dim]), w), b));
      scores.set(out.dataSync() as Float32Array, start * numClasses);
      out.dispose();
    }
  } finally {
    tf.dispose([w, b]);
  }
  return scores;
}

/** Top-1 / top-5 (top-k capped at numClasses) of the model on `set`, standardised with `standardizer` when given. */
export function evaluateLogistic(model: LogisticModel, set: FeatureSet, standardizer?: FeatureStandardizer | null): TopKResult {
  checkLabels('logistic regression labels', set.labels, model.numClasses);
  const scores = logisticScores(model, set, standardizer);
  const [c1, c5] = countTopKCorrect(scores, model.numClasses, set.labels, [1, Math.min(5, model.numClasses)]);
  return { top1: c1 / set.count, top5: c5 / set.count };
}
