import type * as tf from '@tensorflow/tfjs';

/** A registered method's name (the built-in ones, or any added with `registerMethod`). */
export type MethodName = string;

/** `original`: the method's own loss. `grad`: the UniGrad-style surrogate whose gradient is the method's gradient. */
export type Form = 'original' | 'grad';
/** Where a gradient form takes its targets: the momentum encoder (`mm`) or the stop-gradient online outputs (`no_mm`). */
export type TargetMode = 'mm' | 'no_mm';

export interface LossInputs {
  /** Raw online projector outputs of view 1 / view 2 (N×D, differentiable). */
  p1: tf.Tensor2D;
  p2: tf.Tensor2D;
  /** Raw target (momentum-encoder) outputs, N×D, constants. Needed by `mm` gradient forms and original MoCo/BYOL. */
  p1m?: tf.Tensor2D;
  p2m?: tf.Tensor2D;
  /** Raw predictor outputs (original BYOL/SimSiam), N×D, differentiable. */
  q1?: tf.Tensor2D;
  q2?: tf.Tensor2D;
  /**
   * UniGrad + CutMix only: the positive target of each ONLINE view, replacing the other view's target in its
   * positive term. `forView1` is what online view 1 is pulled toward (view 2's target, mixed with view 1's CutMix
   * draw), `forView2` likewise; unit rows (see `mixTargets`), constants. F is still built from the unmixed targets.
   */
  mixedPositives?: { forView1: tf.Tensor2D; forView2: tf.Tensor2D };
}

/** Checkpointable per-method state. Absent fields mean "first step". */
export interface MethodState {
  /** UniGrad / DirectPred: EMA of the target correlation matrix (D×D). */
  F?: tf.Tensor2D;
  /** MoCo: queue of past target keys, oldest row first (K×D). */
  queue?: tf.Tensor2D;
}

export interface LossOutput {
  /** The scalar to differentiate (for gradient forms a surrogate, not a true objective). */
  loss: tf.Scalar;
  /** 0.5·(mean z1·t2 + mean z2·t1): online vs target (or the other online view) cosine; no gradient. */
  posSim: tf.Scalar;
  /** New state (no gradient). Tensors are new; the caller keeps/disposes them and the old state. */
  state: MethodState;
}

export interface Hyper {
  /** UniGrad λ, Barlow Twins / VICReg decorrelation λ. */
  lambda?: number;
  /** EMA factor of F. */
  rho?: number;
  /** DirectPred ε (W_p = (F/s_max)^{1/2} + εI). */
  eps?: number;
  /** Contrastive temperature. */
  tau?: number;
  /** Barlow Twins / VICReg gradient divisor N (default: the batch size actually given). */
  wholeBatchSize?: number;
  /** VICReg original coefficients (invariance, variance, covariance). */
  simCoeff?: number;
  stdCoeff?: number;
  covCoeff?: number;
  /** MoCo queue capacity. */
  queueSize?: number;
}

export interface OriginalNeeds {
  /** The engine must feed predictor outputs q1, q2. */
  predictor: boolean;
  /** `ema`: p1m/p2m from a momentum encoder; `stopgrad`: the online outputs serve as targets; `none`: no target. */
  target: 'ema' | 'stopgrad' | 'none';
}

/** A column of the results table: the original loss, or the gradient form without / with momentum encoder. */
export type Variant = 'original' | 'grad-no-mm' | 'grad-mm';

/** One table cell a method contributes. */
export interface CellSpec {
  variant: Variant;
  /** What the cell is, in one sentence (`reproduce --list`, the tracked row run's note). */
  description: string;
  /** UniGrad + CutMix: CutMix on the online views (gradient form only). */
  cutmix?: boolean;
}

/** One row of the results table (its name keys configs/paper-results.csv and the tracked runs' tags). */
export interface RowSpec {
  row: string;
  label: string;
  cells: readonly CellSpec[];
}

/** Which branches the network needs for a form: a learned predictor, a momentum (EMA) encoder. */
export interface Branches {
  predictor: boolean;
  momentum: boolean;
}

/**
 * A method spec: its losses side by side, its typed hyper-parameters with defaults per form (valid ranges are
 * the shared HYPER_RULES of common.ts), the λ-with-dimension rule, the branches it needs and its table rows.
 * The registry, the config's method enum, the experiments, the table rows and the npm scripts derive from it.
 */
export interface Method {
  name: MethodName;
  /** Name as the paper's table prints it. */
  label: string;
  /** Defaults of the gradient form (missing hyper values are filled from these). */
  defaults: Readonly<Hyper>;
  /** Defaults of the original loss (differs from `defaults` for Barlow Twins: λ 0.0051 vs 50). */
  originalDefaults: Readonly<Hyper>;
  /** False for UniGrad (it has no original loss). */
  hasOriginal: boolean;
  originalNeeds: OriginalNeeds;
  /**
   * Gradient-form hyper-parameters whose default is scaled by D/2048 when `loss.scaleLambdaWithDim` is on: their
   * repulsion term λ·F·z (or λ·C·z) acts through a correlation of unit vectors with eigenvalues ~1/D, so λ/D is
   * what the paper's λ (chosen at D = 2048) sets.
   */
  dimScaled: readonly (keyof Hyper)[];
  /** Gradient-form hyper-parameters whose default is the batch size (Barlow Twins / VICReg's divisor N). */
  batchSized: readonly (keyof Hyper)[];
  /** The table rows this method contributes (UniGrad also contributes UniGrad + CutMix). */
  rows: readonly RowSpec[];
  original(inputs: LossInputs, state: MethodState, hyper?: Hyper): LossOutput;
  gradient(inputs: LossInputs, target: TargetMode, state: MethodState, hyper?: Hyper): LossOutput;
  /** The state before the first step: {} except MoCo, whose queue starts as `queueSize` random unit rows. */
  initialState(dim: number, hyper: Hyper | undefined, rng: { normal(): number }): MethodState;
}
