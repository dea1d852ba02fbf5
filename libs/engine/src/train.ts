// The pretraining loop, readable top to bottom: config → data → network, method, optimizer (setup.ts) → for each
// step: two views → trainStep (step.ts) → metrics. Checkpoints every epoch and on SIGINT/SIGTERM; --resume
// continues exactly (all randomness derives from (seed, step)).
import { Rng } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import { batches, batchesPerEpoch, disposeBatch, type Dataset } from '@unigrad/data';
import { loadCheckpoint, type SiameseNet } from '@unigrad/models';
import { writeFileAtomic } from '@unigrad/core';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pretrainMeta, restoreTrainingState, saveTrainingState } from './checkpoint';
import { openDataset } from './datasets';
import { Progress } from './progress';
import { StopRequest, yieldToEventLoop } from './signals';
import type { StepMetrics } from './metrics';
import { buildTraining, disposeTraining } from './setup';
import { disposeState, trainStep } from './step';
import { makeAugmenter } from './views';

export interface PretrainHooks {
  /** Called every `output.logEvery` steps and at the last step. */
  onStep?(step: number, metrics: StepMetrics): void | Promise<void>;
  /** Called after each epoch's checkpoint, with the online trunk (e.g. for the kNN monitor). */
  onEpochEnd?(epoch: number, step: number, net: SiameseNet): void | Promise<void>;
}

export interface PretrainOptions extends PretrainHooks {
  /** Checkpoint to continue from (its config is used; the run continues exactly). */
  resume?: string;
  /** Start over in a run directory that already holds a run (its checkpoint and metrics are replaced). */
  overwrite?: boolean;
  /** Print progress (default true). */
  log?: boolean;
  /** Stop (checkpointed, as on a signal) once this many steps are done; the config is unchanged, so --resume continues. */
  stopAfterSteps?: number;
  /** Shared stop request (the app's signal handling); without one, pretrain handles SIGINT/SIGTERM itself while it runs. */
  stop?: StopRequest;
  /** Extra checkpoint metadata (e.g. the tracked run id, so a resume continues the same run). */
  checkpointMeta?: Record<string, unknown>;
}

export interface PretrainResult {
  outDir: string;
  checkpointPath: string;
  metricsPath: string;
  steps: number;
  finalMetrics: StepMetrics | null;
  /** True when a signal stopped the run early (a checkpoint was still written). */
  interrupted: boolean;
}

export class NonFiniteLossError extends Error {
  constructor(step: number, value: number, checkpoint: string) {
    super(
      `loss is ${value} at step ${step}: training stopped before applying this update. ` +
        `The last good checkpoint is ${checkpoint}. Lower optim.baseLr or check the method's hyper-parameters.`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/** A new run would overwrite an earlier one's directory. */
export class RunExistsError extends Error {
  constructor(dir: string) {
    super(
      `run directory ${dir} already holds a run: continue it with --resume ${join(dir, 'latest.ckpt')}, ` +
        `start over with --overwrite, or choose another --name`,
    );
    this.name = 'RunExistsError';
  }
}

/** Removes temp files an interrupted atomic write left behind (`.<name>.<pid>.<time>.tmp`). */
function removeOrphanTempFiles(dir: string): void {
  for (const file of readdirSync(dir)) if (/^\..+\.\d+\.\d+\.tmp$/.test(file)) rmSync(join(dir, file), { force: true });
}

/** Keeps the header and the rows of steps <= `step` (a resumed run rewrites what came after its checkpoint). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const [header, ...rows] = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  writeFileAtomic(path, [header, ...rows.filter((row) => Number(row.split(',')[0]) <= step)].join('\n') + '\n');
}

export function runDir(config: PretrainConfig): string {
  return join(config.output.dir, config.preset, config.name ?? defaultRunName(config));
}

export function defaultRunName(config: PretrainConfig): string {
  const variant = config.form === 'original' ? 'original' : `grad-${config.target === 'mm' ? 'mm' : 'no-mm'}`;
  return `${config.method}${config.cutmix ? '-cutmix' : ''}-${variant}-seed${config.seed}`;
}

/** A derived seed for step-level randomness (augmentation, CutMix), so a resumed run draws the same numbers. */
export function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) + Math.imul(step + 1, 0x85ebca6b)) >>> 0;
}

/** Steps per epoch (drop_last) and total steps of a config on a dataset of `n` images. */
export function scheduleOf(config: PretrainConfig, n: number): { imagesPerEpoch: number; stepsPerEpoch: number; totalSteps: number } {
  const imagesPerEpoch = config.data.subset !== undefined ? Math.min(config.data.subset, n) : n;
  const stepsPerEpoch = batchesPerEpoch(imagesPerEpoch, config.optim.batchSize, true);
  if (stepsPerEpoch < 1) {
    throw new Error(`optim.batchSize ${config.optim.batchSize} is larger than the ${imagesPerEpoch} training images: lower it or raise data.subset`);
  }
  const allSteps = config.optim.epochs * stepsPerEpoch;
  return { imagesPerEpoch, stepsPerEpoch, totalSteps: config.optim.maxSteps !== undefined ? Math.min(config.optim.maxSteps, allSteps) : allSteps };
}

export async function pretrain(initialConfig: PretrainConfig, options: PretrainOptions = {}): Promise<PretrainResult> {
  const log = options.log ?? true;

  // ---- resume: the checkpoint's config wins, so the run continues exactly ----
  const resumed = options.resume ? loadCheckpoint(options.resume) : null;
  const resumedMeta = resumed ? pretrainMeta(resumed.meta, options.resume!) : null;
  const config = resumedMeta ? resumedMeta.config : initialConfig;
  const outDir = runDir(config);
  mkdirSync(outDir, { recursive: true });
  const checkpointPath = join(outDir, 'latest.ckpt');
  const metricsPath = join(outDir, 'metrics.csv');
  removeOrphanTempFiles(outDir);
  if (!resumed && (existsSync(checkpointPath) || existsSync(metricsPath))) {
    if (!options.overwrite) throw new RunExistsError(outDir);
    rmSync(checkpointPath, { force: true });
    rmSync(metricsPath, { force: true });
  }
  writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // ---- data, network, method, optimizer, schedules ----
  const train: Dataset = await openDataset(config, 'train');
  const { imagesPerEpoch, stepsPerEpoch, totalSteps } = scheduleOf(config, train.n);
  const augment = makeAugmenter(config, train);
  const training = buildTraining(config, { stepsPerEpoch, totalSteps });
  const { net, method } = training;

  // ---- state: method state (F, queue), step counter; restored on resume ----
  let state = method.initialState(net.embeddingDim, training.hyper, new Rng(config.seed + 7));
  let step = 0;
  if (resumed && resumedMeta) {
    disposeState(state);
    state = restoreTrainingState(resumed, resumedMeta, training);
    step = resumedMeta.step;
  }
  const saveCheckpointNow = (epochOfNextStep: number) =>
    saveTrainingState(checkpointPath, training, state, { ...resumedMeta?.extra, ...options.checkpointMeta, config, step, epoch: epochOfNextStep });

  // ---- signals: the first finishes the current step, checkpoints, then stops; a second leaves at once ----
  const stop = options.stop ?? new StopRequest('pretrain').install(log);
  let budgetReached = false;

  if (!existsSync(metricsPath) || step === 0) writeFileSync(metricsPath, 'step,epoch,loss,pos_sim,lr,ema_momentum,embedding_std,images_per_s\n');
  else truncateMetrics(metricsPath, step);
  if (log) {
    console.log(
      `[pretrain] ${config.method} form=${config.form} target=${config.target}${config.cutmix ? ' +cutmix' : ''} ` +
        `momentum-encoder=${net.hasTarget} predictor=${net.predictor !== null} | ${imagesPerEpoch} images, ` +
        `${stepsPerEpoch} steps/epoch, ${totalSteps} steps | ${outDir}${resumed ? ` | resumed at step ${step}` : ''}`,
    );
  }
  const progress = new Progress(totalSteps, log);
  let finalMetrics: StepMetrics | null = null;

  try {
    for (let epoch = Math.floor(step / stepsPerEpoch); step < totalSteps && !stop.requested && !budgetReached; epoch++) {
      const epochBatches = batches(train, {
        batchSize: config.optim.batchSize,
        seed: config.seed,
        epoch,
        dropLast: true,
        subset: config.data.subset !== undefined ? imagesPerEpoch : undefined,
        startBatch: step - epoch * stepsPerEpoch,
      });
      for await (const batch of epochBatches) {
        const started = performance.now();
        const rng = new Rng(stepSeed(config.seed, step));
        const lr = training.lrAt(step);
        const emaMomentum = net.hasTarget ? training.momentumAt(step) : 0;

        // Two augmented views of the batch (same pipeline for both, spec §7.3), then one step on them.
        const views = augment(batch, rng);
        disposeBatch(batch);
        const outcome = await trainStep(training, views, state, { lr, emaMomentum, rng });
        if (!outcome.applied) {
          throw new NonFiniteLossError(step, outcome.loss, existsSync(checkpointPath) ? checkpointPath : '(none yet: the failure came before the first epoch ended)');
        }
        state = outcome.state;

        step++;
        const metrics: StepMetrics = {
          loss: outcome.loss,
          pos_sim: outcome.posSim,
          lr,
          ema_momentum: emaMomentum,
          embedding_std: outcome.embeddingStd,
          images_per_s: config.optim.batchSize / ((performance.now() - started) / 1000),
        };
        finalMetrics = metrics;
        appendFileSync(metricsPath, [step, epoch, ...Object.values(metrics)].join(',') + '\n');
        progress.update(step, metrics);
        if (step % config.output.logEvery === 0 || step === totalSteps) await options.onStep?.(step, metrics);
        if (options.stopAfterSteps !== undefined && step >= options.stopAfterSteps) budgetReached = true;
        // One turn of the event loop per step: signals, tracking deliveries and timers run between steps.
        await yieldToEventLoop();
        if (step >= totalSteps || stop.requested || budgetReached) break;
      }
      const epochDone = step % stepsPerEpoch === 0 || step >= totalSteps;
      saveCheckpointNow(epochDone ? epoch + 1 : epoch);
      if (epochDone && config.output.keepEpochCheckpoints) {
        saveTrainingState(join(outDir, `epoch-${epoch + 1}.ckpt`), training, state, { ...options.checkpointMeta, config, step, epoch: epoch + 1 });
      }
      if (epochDone) await options.onEpochEnd?.(epoch, step, net);
    }
  } finally {
    if (!options.stop) stop.uninstall();
    progress.done();
    disposeState(state);
    disposeTraining(training);
  }
  return { outDir, checkpointPath, metricsPath, steps: step, finalMetrics, interrupted: stop.requested || budgetReached };
}
