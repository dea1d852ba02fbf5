// The converged linear probe for cached frozen features (issue 13, spec §8 "At CPU scale"):
//   1. hold out a seeded, class-stratified validation split of the TRAINING features (default 10 %);
//   2. standardise with the statistics of the remaining training rows, fit a multinomial logistic regression to
//      convergence (full-batch L-BFGS) for each L2 strength of a small grid, score each on the validation rows;
//   3. keep the strength with the best validation top-1, refit on the whole training split (standardised with the
//      whole split's statistics);
//   4. evaluate on the test features once.
// `selectLogisticProbe` does 1–3 and never sees the test set; `evaluateLogisticProbe` does 4; `fitLogisticProbe`
// is both, in that order.
//
// Why this and not the LARS probe (trainLinearProbeOnFeatures) at CPU scale: LARS moves W by ~lr·trust·‖W‖ per
// step, and ‖W‖ at the N(0, 0.01²) initialisation grows with the input width (≈0.89 for 784 raw pixels, ≈0.25 for
// a 64-d encoder), so with unstandardised features and a fixed epoch budget the probe favours wide inputs and
// leaves encoder probes unconverged; and it reports the best epoch chosen on the test set. Logistic regression on
// standardised features is convex: L-BFGS reaches its optimum deterministically, with no learning rate or epoch
// count to tune, the same way for every input scale, in seconds for 60k × 64 features (a few minutes for 60k × 784
// raw pixels); the one hyperparameter, the L2 strength, is chosen on held-out training rows.
import { Rng } from '@unigrad/core';
import { FeatureSet, checkFeatureSet, checkLabels } from './batches';
import type { TopKResult } from './knn';
import { LogisticFitSummary, LogisticModel, evaluateLogistic, fitLogisticRegression } from './logistic';
import { FeatureStandardizer, StandardizeOptions, fitStandardizer, standardizeFeatures } from './standardize';

/**
 * L2 strengths tried by default (of (l2/2)·‖W‖² next to the mean cross-entropy, on standardised features): from
 * none to strong, a decade apart. They are fitted from the strongest down, each warm-started from the previous
 * solution (the optimum does not depend on the start for l2 > 0; only the iteration count does).
 */
export const DEFAULT_L2_GRID: readonly number[] = [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

export interface LogisticProbeOptions {
  numClasses: number;
  /** L2 strengths to choose from (default DEFAULT_L2_GRID). A single value skips the selection fits. */
  l2Grid?: readonly number[];
  /** Fraction of each class's training rows held out for validation (default 0.1). */
  validationFraction?: number;
  /** Seed of the validation split (default 0). */
  seed?: number;
  /** Standardise with training statistics (default true; `false` fits raw features, for comparison only). */
  standardize?: boolean | StandardizeOptions;
  /** L-BFGS iterations per fit at most (default 1000). */
  maxIterations?: number;
  /** Stop a fit when ‖∇J‖∞ ≤ gradTol (default 1e-4). */
  gradTol?: number;
  /** Stop a fit when an iteration lowers J by ≤ lossTol relative (default 1e-9). */
  lossTol?: number;
  /** L-BFGS memory (default 10). */
  memory?: number;
  /** Called after each fit: phase 'select' for the grid fits, 'final' for the refit on the whole training split. */
  onFit?: (event: LogisticProbeFitEvent) => void;
}

export interface LogisticProbeFitEvent extends LogisticFitSummary {
  phase: 'select' | 'final';
  l2: number;
  /** Validation accuracy of a selection fit (absent for the final fit, which has no held-out rows). */
  validation?: TopKResult;
}

/** Row indices into the training FeatureSet, each sorted ascending; disjoint, together every row once. */
export interface ValidationSplit {
  fit: Int32Array;
  validation: Int32Array;
}

export interface LogisticProbeGridEntry extends LogisticFitSummary {
  l2: number;
  validation: TopKResult;
}

/** The chosen probe, refitted on the whole training split; not yet evaluated on test. */
export interface LogisticProbe {
  /** The chosen L2 strength. */
  l2: number;
  model: LogisticModel;
  /** Statistics of the whole training split (null when standardize is false). */
  standardizer: FeatureStandardizer | null;
  /** The refit on the whole training split. */
  fit: LogisticFitSummary;
  /** Validation accuracy of the chosen strength (fitted on the other training rows); null when the grid has one value. */
  validation: TopKResult | null;
  /** Every strength tried, in grid order (empty when the grid has one value). */
  grid: LogisticProbeGridEntry[];
  /** The rows of `train` the selection fits used and the rows they were scored on (null when the grid has one value). */
  split: ValidationSplit | null;
}

/** What `fitLogisticProbe` reports. Accuracies are fractions in [0, 1]. */
export interface LogisticProbeResult {
  /** Test accuracy of the refitted probe: the number to report. Computed once, after selection. */
  test: TopKResult;
  /** Validation accuracy of the chosen strength; null when the grid has a single value (no selection ran). */
  validation: TopKResult | null;
  /** The chosen L2 strength. */
  l2: number;
  /** Of the final refit: L-BFGS iterations, objective (mean CE + penalty), ‖∇J‖∞, whether it converged. */
  iterations: number;
  trainLoss: number;
  gradNorm: number;
  converged: boolean;
  stopReason: LogisticFitSummary['stopReason'];
  /** Validation top-1 (and fit details) of each strength tried. */
  grid: LogisticProbeGridEntry[];
  trainRows: number;
  validationRows: number;
  testRows: number;
  /** Wall time of selection + refit + test evaluation. */
  seconds: number;
}

/**
 * A seeded validation split of `labels`' rows, stratified by class: each class with n ≥ 2 rows gives
 * round(fraction·n) of them (at least 1, at most n − 1) to validation, chosen by a seeded shuffle.
 */
export function splitValidation(labels: Int32Array, numClasses: number, fraction: number, seed: number): ValidationSplit {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`validationFraction must be in (0, 1), got ${fraction}`);
  checkLabels('validation split labels', labels, numClasses);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const rng = new Rng(seed);
  const isValidation = new Uint8Array(labels.length);
  let nVal = 0;
  for (const rows of byClass) {
    if (rows.length < 2) continue;
    const take = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
    const order = rng.permutation(rows.length);
    for (let j = 0; j < take; j++) isValidation[rows[order[j]]] = 1;
    nVal += take;
  }
  if (nVal === 0) throw new Error('splitValidation: no class has 2 or more rows to hold one out');
  const fit = new Int32Array(labels.length - nVal);
  const validation = new Int32Array(nVal);
  let f = 0;
  let v = 0;
  for (let i = 0; i < labels.length; i++) {
    if (isValidation[i]) validation[v++] = i;
    else fit[f++] = i;
  }
  return { fit, validation };
}

/**
 * Steps 1–3: selects the L2 strength on a validation split of `train` and refits on all of `train`. Only `train`
 * is read. Ties in validation top-1 go to the stronger regularisation.
 */
export function selectLogisticProbe(train: FeatureSet, options: LogisticProbeOptions): LogisticProbe {
  checkFeatureSet('probe train features', train);
  const { numClasses } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  checkLabels('probe train labels', train.labels, numClasses);
  const grid = [...(options.l2Grid ?? DEFAULT_L2_GRID)];
  if (grid.length === 0) throw new Error('l2Grid must hold at least one value');
  for (const l2 of grid) if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`l2Grid values must be finite and >= 0, got ${l2}`);
  if (new Set(grid).size !== grid.length) throw new Error(`l2Grid has repeated values: [${grid}]`);
  const standardizeOptions = options.standardize === false ? null : options.standardize === true || options.standardize === undefined ? {} : options.standardize;
  const fitOptions = {
    numClasses,
    maxIterations: options.maxIterations,
    gradTol: options.gradTol,
    lossTol: options.lossTol,
    memory: options.memory,
  };
  /** Standardised copy of the given rows with statistics of those same rows (or a plain copy). */
  const prepare = (rows: Int32Array | undefined): { set: FeatureSet; standardizer: FeatureStandardizer | null } => {
    if (!standardizeOptions) {
      return { set: rows ? subset(train, rows) : train, standardizer: null };
    }
    const standardizer = fitStandardizer(train, standardizeOptions, rows);
    return { set: standardizeFeatures(train, standardizer, rows), standardizer };
  };

  const entries: LogisticProbeGridEntry[] = [];
  let chosen = grid[0];
  let chosenValidation: TopKResult | null = null;
  let chosenModel: LogisticModel | undefined;
  let selectionStandardizer: FeatureStandardizer | null = null;
  let warm: LogisticModel | undefined;
  let split: ValidationSplit | null = null;
  if (grid.length > 1) {
    split = splitValidation(train.labels, numClasses, options.validationFraction ?? 0.1, options.seed ?? 0);
    const { set: fitSet, standardizer } = prepare(split.fit);
    selectionStandardizer = standardizer;
    const valSet = subset(train, split.validation);
    const byStrength = new Map<number, LogisticProbeGridEntry>();
    for (const l2 of [...grid].sort((a, b) => b - a)) {
      const { model, ...summary } = fitLogisticRegression(fitSet, { ...fitOptions, l2, init: warm });
      warm = model;
      const validation = evaluateLogistic(model, valSet, standardizer);
      const entry = { l2, validation, ...summary };
      byStrength.set(l2, entry);
      options.onFit?.({ phase: 'select', ...entry });
      // Strongest first, strict improvement: ties keep the stronger regularisation.
      if (!chosenValidation || validation.top1 > chosenValidation.top1) {
        chosen = l2;
        chosenValidation = validation;
        chosenModel = model;
      }
    }
    for (const l2 of grid) entries.push(byStrength.get(l2) as LogisticProbeGridEntry);
  }
  // The refit starts from the chosen selection solution, re-expressed in the whole split's standardised coordinates
  // (the same classifier of the raw features): a warm start only; the optimum does not depend on it for l2 > 0.
  const { set: all, standardizer } = prepare(undefined);
  const init = chosenModel ? reexpress(chosenModel, selectionStandardizer, standardizer) : undefined;
  const { model, ...fit } = fitLogisticRegression(all, { ...fitOptions, l2: chosen, init });
  options.onFit?.({ phase: 'final', l2: chosen, ...fit });
  return {
    l2: chosen,
    model,
    standardizer,
    fit,
    validation: chosenValidation,
    grid: entries,
    split,
  };
}

/** Step 4: top-1 / top-5 of the probe on `test`, standardised with the training statistics. */
export function evaluateLogisticProbe(probe: LogisticProbe, test: FeatureSet): TopKResult {
  checkFeatureSet('probe test features', test);
  if (test.dim !== probe.model.dim) throw new Error(`probe: test dim ${test.dim} differs from train dim ${probe.model.dim}`);
  return evaluateLogistic(probe.model, test, probe.standardizer);
}

/**
 * The converged probe on cached features: `selectLogisticProbe(train)` then `evaluateLogisticProbe(test)` once.
 * Of `test`, only `dim` is read before the selection and refit are complete (to fail early on a mismatch).
 */
export function fitLogisticProbe(train: FeatureSet, test: FeatureSet, options: LogisticProbeOptions): LogisticProbeResult {
  const start = Date.now();
  if (test.dim !== train.dim) throw new Error(`probe: train dim ${train.dim} differs from test dim ${test.dim}`);
  const probe = selectLogisticProbe(train, options);
  const testAccuracy = evaluateLogisticProbe(probe, test);
  return {
    test: testAccuracy,
    validation: probe.validation,
    l2: probe.l2,
    iterations: probe.fit.iterations,
    trainLoss: probe.fit.trainLoss,
    gradNorm: probe.fit.gradNorm,
    converged: probe.fit.converged,
    stopReason: probe.fit.stopReason,
    grid: probe.grid,
    trainRows: train.count,
    validationRows: probe.split ? probe.split.validation.length : 0,
    testRows: test.count,
    seconds: (Date.now() - start) / 1000,
  };
}

/**
 * The same classifier of raw features x, for inputs standardised with `to` instead of `from` (null: unstandardised):
 * with x = m_from + c_from·u = m_to + c_to·v, the scores u·W + b equal v·W' + b' where
 * W'[d] = W[d]·c_to[d]/c_from[d] and b' = b + Σ_d W[d]·(m_to[d] − m_from[d])/c_from[d].
 */
export function reexpress(model: LogisticModel, from: FeatureStandardizer | null, to: FeatureStandardizer | null): LogisticModel {
  const { dim, numClasses } = model;
  const weight = new Float32Array(model.weight.length);
  const bias = Float64Array.from(model.bias);
  for (let d = 0; d < dim; d++) {
    const cFrom = from ? from.scale[d] : 1;
    const ratio = (to ? to.scale[d] : 1) / cFrom;
    const shift = ((to ? to.mean[d] : 0) - (from ? from.mean[d] : 0)) / cFrom;
    for (let c = 0; c < numClasses; c++) {
      const w = model.weight[d * numClasses + c];
      weight[d * numClasses + c] = w * ratio;
      bias[c] += w * shift;
    }
  }
  return { ...model, weight, bias: Float32Array.from(bias) };
}

function subset(set: FeatureSet, rows: Int32Array): FeatureSet {
  const { dim } = set;
  const features = new Float32Array(rows.length * dim);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    features.set(set.features.subarray(rows[i] * dim, (rows[i] + 1) * dim), i * dim);
    labels[i] = set.labels[rows[i]];
  }
  return { features, labels, count: rows.length, dim };
}
