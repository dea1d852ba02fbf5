// Learning-rate and EMA-momentum schedules as pure functions of the 0-based step (or epoch), spec §6.1, §7.2, §8.

/** The linear scaling rule: lr = base_lr × batch / 256. */
export function scaleLr(baseLr: number, batchSize: number): number {
  if (!(baseLr >= 0) || !Number.isFinite(baseLr)) throw new Error(`baseLr must be a finite number >= 0, got ${baseLr}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  return (baseLr * batchSize) / 256;
}

export interface WarmupCosineOptions {
  /** Per-256 learning rate (official 0.05). */
  baseLr: number;
  /** Global batch size (official 1024). */
  batchSize: number;
  /** Warmup length in steps (official 5 epochs = 6255). */
  warmupSteps: number;
  /** Total steps S (official 125100). */
  totalSteps: number;
  /** lr_min / lr_max (official 1e-3). */
  minLrRatio?: number;
}

/**
 * The official per-iteration schedule: lr_max = baseLr·batch/256, lr_min = 1e-3·lr_max; linear warmup from
 * lr_min over `warmupSteps`, then lr_min + ½(lr_max − lr_min)(1 + cos(π(s − Wu)/S)). The cosine divides by the
 * TOTAL S (not S − Wu), as the official code does, so it ends near 0.0072·lr_max rather than at lr_min.
 */
export function warmupCosineLr(options: WarmupCosineOptions): (step: number) => number {
  const { warmupSteps, totalSteps } = options;
  const lrMax = scaleLr(options.baseLr, options.batchSize);
  const lrMin = (options.minLrRatio ?? 1e-3) * lrMax;
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`totalSteps must be a positive integer, got ${totalSteps}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new Error(`warmupSteps must be an integer in [0, totalSteps=${totalSteps}], got ${warmupSteps}`);
  }
  return (step: number) => {
    checkStep(step);
    if (step < warmupSteps) return lrMin + ((lrMax - lrMin) * step) / warmupSteps;
    return lrMin + 0.5 * (lrMax - lrMin) * (1 + Math.cos((Math.PI * (step - warmupSteps)) / totalSteps));
  };
}

export interface MomentumScheduleOptions {
  /** m0, the momentum at step 0 (official 0.996). */
  base: number;
  /** Total steps S; m reaches 1 at s = S. */
  totalSteps: number;
}

/** EMA momentum m(s) = 1 − (1 − m0)(cos(π s/S) + 1)/2, rising from m0 to 1. */
export function momentumSchedule(options: MomentumScheduleOptions): (step: number) => number {
  const { base, totalSteps } = options;
  if (!(base >= 0 && base <= 1)) throw new Error(`base momentum must be in [0, 1], got ${base}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`totalSteps must be a positive integer, got ${totalSteps}`);
  return (step: number) => {
    checkStep(step);
    return 1 - ((1 - base) * (Math.cos((Math.PI * step) / totalSteps) + 1)) / 2;
  };
}

export interface CosinePerEpochOptions {
  /** Per-256 learning rate (linear probe 0.1). */
  baseLr: number;
  /** Batch size used for the linear scaling rule. */
  batchSize: number;
  /** Number of epochs E. */
  epochs: number;
}

/** The linear-probe schedule: lr_e = lr·½(1 + cos(π e/E)) for the 0-based epoch e, constant within an epoch. */
export function cosinePerEpochLr(options: CosinePerEpochOptions): (epoch: number) => number {
  const lr = scaleLr(options.baseLr, options.batchSize);
  const { epochs } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer, got ${epochs}`);
  return (epoch: number) => {
    checkStep(epoch);
    return lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
  };
}

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`schedule step must be an integer >= 0, got ${step}`);
}
