// The pretraining loop, readable top to bottom: config → two-view data → Siamese net → method → optimizer and
// schedules → step. Checkpoints every epoch and on SIGINT/SIGTERM; --resume continues exactly.
import * as tf from '@tensorflow/tfjs';
import { currentBackend, Rng } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import { batches, batchesPerEpoch, disposeBatch, type Dataset } from '@unigrad/data';
import { getMethod, mixTargets, type Hyper, type LossInputs, type Method, type MethodState } from '@unigrad/losses';
import { SiameseNet, loadCheckpoint, saveCheckpoint, storedToTensor, type TrunkConfig } from '@unigrad/models';
import { LARS, SGD, isBiasOrNormParam, momentumSchedule, warmupCosineLr, type Optimizer } from '@unigrad/optimizers';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyCutMix, drawCutMix } from './cutmix';
import { datasetChannels, openDataset } from './datasets';
import { Progress } from './progress';
import { makeAugmenter } from './views';

/** Per-step numbers: what the log line, metrics.csv and the tracker receive. */
export interface StepMetrics {
  loss: number;
  pos_sim: number;
  lr: number;
  ema_momentum: number;
  /** Std over the batch of the L2-normalised online embeddings, averaged over dimensions: → 0 on collapse. */
  embedding_std: number;
  images_per_s: number;
}

export interface PretrainHooks {
  /** Called every `output.logEvery` steps and at the last step. */
  onStep?(step: number, metrics: StepMetrics): void | Promise<void>;
  /** Called after each epoch's checkpoint, with the online trunk (e.g. for the kNN monitor). */
  onEpochEnd?(epoch: number, step: number, net: SiameseNet): void | Promise<void>;
}

export interface PretrainOptions extends PretrainHooks {
  /** Checkpoint to continue from (its config is used; the run continues exactly). */
  resume?: string;
  /** Print progress (default true). */
  log?: boolean;
  /** Stop (checkpointed, as on a signal) once this many steps are done; the config is unchanged, so --resume continues. */
  stopAfterSteps?: number;
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

/** Checkpoint metadata (the tensors hold weights, EMA weights, optimizer slots and method state). */
export interface CheckpointMeta {
  kind: 'unigrad-pretrain';
  config: PretrainConfig;
  /** Steps completed; the next step to run. */
  step: number;
  /** Epoch of the next step. */
  epoch: number;
  optimizerSteps: number;
  /** Every random draw is derived from (seed, step) or (seed, epoch), so this is the whole RNG state. */
  rng: { seed: number; step: number };
  backend: string;
  savedAt: string;
}

export function runDir(config: PretrainConfig): string {
  return join(config.output.dir, config.preset, config.name || defaultRunName(config));
}

export function defaultRunName(config: PretrainConfig): string {
  const variant = config.form === 'original' ? 'original' : `grad-${config.target === 'mm' ? 'mm' : 'no-mm'}`;
  return `${config.method}${config.cutmix ? '-cutmix' : ''}-${variant}-seed${config.seed}`;
}

/** The trunk of a config; stem and zero-init residual only exist for the ResNets. */
export function trunkConfigFor(config: PretrainConfig): TrunkConfig {
  const { trunk, stem, widths, zeroInitResidual } = config.model;
  const common = { kind: trunk, inChannels: datasetChannels(config), widths: widths.length ? widths : undefined };
  return trunk === 'convnet' ? common : { ...common, stem, zeroInitResidual };
}

/** Which branches a method needs in a given form: a learned predictor, a momentum encoder. */
export function branchesFor(method: Method, config: PretrainConfig): { predictor: boolean; momentum: boolean } {
  if (config.form === 'original') {
    return { predictor: method.originalNeeds.predictor, momentum: method.originalNeeds.target === 'ema' };
  }
  return { predictor: false, momentum: config.target === 'mm' };
}

/**
 * The method's hyper-parameters: config values where set (non-zero), else the spec defaults of the form
 * (they differ for Barlow Twins: λ 50 for the gradient, 0.0051 for the original). wholeBatchSize defaults to
 * the batch actually given, i.e. the configured batch with drop_last.
 */
export function methodHyper(method: Method, config: PretrainConfig): Hyper {
  const hyper: Hyper = { ...(config.form === 'original' ? method.originalDefaults : method.defaults) };
  const { scaleLambdaWithDim, ...values } = config.loss;
  if (scaleLambdaWithDim && config.form === 'grad' && DIM_SCALED_LAMBDA.includes(method.name) && hyper.lambda !== undefined) {
    hyper.lambda = (hyper.lambda * config.model.projectorOut) / PAPER_EMBEDDING_DIM;
  }
  for (const [key, value] of Object.entries(values)) if (value !== 0) (hyper as Record<string, number>)[key] = value;
  return hyper;
}

/** The paper's embedding width, for which the spec's λ values were chosen (spec §7.1). */
const PAPER_EMBEDDING_DIM = 2048;
/** Gradient forms whose λ multiplies a correlation of unit vectors (eigenvalues ~1/D): see loss.scaleLambdaWithDim. */
const DIM_SCALED_LAMBDA: readonly string[] = ['unigrad', 'barlow_twins', 'vicreg'];

/** A derived seed for step-level randomness (augmentation, CutMix), so a resumed run draws the same numbers. */
function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) + Math.imul(step + 1, 0x85ebca6b)) >>> 0;
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
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // ---- data ----
  const train: Dataset = await openDataset(config, 'train');
  const imagesPerEpoch = config.data.subset > 0 ? Math.min(config.data.subset, train.n) : train.n;
  const stepsPerEpoch = batchesPerEpoch(imagesPerEpoch, config.optim.batchSize, true);
  if (stepsPerEpoch < 1) {
    throw new Error(`optim.batchSize ${config.optim.batchSize} is larger than the ${imagesPerEpoch} training images: lower it or raise data.subset`);
  }
  const totalSteps = config.optim.maxSteps > 0 ? Math.min(config.optim.maxSteps, config.optim.epochs * stepsPerEpoch) : config.optim.epochs * stepsPerEpoch;
  const augment = makeAugmenter(config, train);

  // ---- method and network ----
  const method = getMethod(config.method);
  const hyper = methodHyper(method, config);
  const branches = branchesFor(method, config);
  const net = new SiameseNet(
    {
      trunk: trunkConfigFor(config),
      projector: { hiddenDim: config.model.projectorHidden, outputDim: config.model.projectorOut },
      predictor: branches.predictor ? { hiddenDim: config.model.predictorHidden } : null,
      momentum: branches.momentum,
    },
    new Rng(config.seed),
  );
  const params = net.onlineParams();
  const keyOfVariable = new Map([...params].map(([key, v]) => [v.name, key]));

  // ---- optimizer and schedules (spec §7.2, §6.1) ----
  const optimizer: Optimizer =
    config.optim.optimizer === 'lars'
      ? new LARS({ momentum: config.optim.momentum, weightDecay: config.optim.weightDecay, exclude: isBiasOrNormParam })
      : new SGD({ momentum: config.optim.momentum, weightDecay: config.optim.weightDecay });
  const lrAt = warmupCosineLr({
    baseLr: config.optim.baseLr,
    batchSize: config.optim.batchSize,
    warmupSteps: Math.min(Math.round(config.optim.warmupEpochs * stepsPerEpoch), totalSteps),
    totalSteps,
  });
  const momentumAt = momentumSchedule({ base: config.optim.baseMomentum, totalSteps });

  // ---- state: method state (F, queue), step counter; restored on resume ----
  let state: MethodState = method.initialState(net.embeddingDim, hyper, new Rng(config.seed + 7));
  let step = 0;
  if (resumed && resumedMeta) {
    const tensors = resumed.tensors;
    net.loadFromCheckpoint(pick(tensors, (k) => !k.startsWith('optim.') && !k.startsWith('state.')));
    const slots = Object.fromEntries(Object.entries(pick(tensors, (k) => k.startsWith('optim.'))).map(([k, v]) => [k.slice(6), storedToTensor(v)]));
    optimizer.loadState(slots, resumedMeta.optimizerSteps);
    tf.dispose(Object.values(slots));
    disposeState(state);
    state = Object.fromEntries(Object.entries(pick(tensors, (k) => k.startsWith('state.'))).map(([k, v]) => [k.slice(6), storedToTensor(v)])) as MethodState;
    step = resumedMeta.step;
  }

  const saveCheckpointNow = (epochOfNextStep: number) => {
    const tensors: Record<string, tf.Tensor> = { ...net.allTensorsForCheckpoint() };
    for (const [k, v] of Object.entries(optimizer.state())) tensors[`optim.${k}`] = v;
    for (const [k, v] of Object.entries(state)) if (v) tensors[`state.${k}`] = v;
    const meta: CheckpointMeta = {
      kind: 'unigrad-pretrain',
      config,
      step,
      epoch: epochOfNextStep,
      optimizerSteps: optimizer.stepCount,
      rng: { seed: config.seed, step },
      backend: currentBackend()?.name ?? tf.getBackend(),
      savedAt: new Date().toISOString(),
    };
    saveCheckpoint(checkpointPath, { tensors, meta });
  };

  // ---- signals: finish the current step, checkpoint, then stop ----
  let stopRequested: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) process.exit(130); // a second Ctrl-C leaves at once (the last checkpoint is intact)
    stopRequested = signal;
    if (log) console.error(`\n[pretrain] ${signal}: finishing this step and writing a checkpoint…`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (!existsSync(metricsPath) || step === 0) writeFileSync(metricsPath, 'step,epoch,loss,pos_sim,lr,ema_momentum,embedding_std,images_per_s\n');
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
    for (let epoch = Math.floor(step / stepsPerEpoch); step < totalSteps && !stopRequested; epoch++) {
      const epochBatches = batches(train, {
        batchSize: config.optim.batchSize,
        seed: config.seed,
        epoch,
        dropLast: true,
        subset: config.data.subset > 0 ? imagesPerEpoch : undefined,
        startBatch: step - epoch * stepsPerEpoch,
      });
      for await (const batch of epochBatches) {
        const started = performance.now();
        const rng = new Rng(stepSeed(config.seed, step));
        const lr = lrAt(step);
        const emaMomentum = net.hasTarget ? momentumAt(step) : 0;

        // Two augmented views of the batch (same pipeline for both, spec §7.3).
        const [view1, view2] = augment(batch, rng);
        disposeBatch(batch);

        // Target branch: EMA update first, then the target forward in train mode, outside the tape (§6.1).
        let p1m: tf.Tensor2D | undefined;
        let p2m: tf.Tensor2D | undefined;
        if (net.hasTarget) {
          net.updateTarget(emaMomentum);
          p1m = net.forwardTarget(view1);
          p2m = net.forwardTarget(view2);
        }

        // UniGrad + CutMix: online views are mixed, their positives are the area-weighted mix of targets.
        let online1: tf.Tensor4D = view1;
        let online2: tf.Tensor4D = view2;
        let mixedPositives: LossInputs['mixedPositives'];
        if (config.cutmix) {
          const [n, h, w] = view1.shape;
          const draw1 = drawCutMix(n, h, w, rng);
          const draw2 = drawCutMix(n, h, w, rng);
          online1 = applyCutMix(view1, draw1);
          online2 = applyCutMix(view2, draw2);
          // View 1's positive is the target of view 2 (and vice versa), mixed with the same permutation and λ.
          mixedPositives = { p1: mixTargets(p2m!, draw1.perm, draw1.lam), p2: mixTargets(p1m!, draw2.perm, draw2.lam) };
        }

        // Online forward + loss under the tape; posSim, the embedding std and the new state are kept out of it.
        const kept: { posSim?: tf.Scalar; embeddingStd?: tf.Scalar; state?: MethodState } = {};
        const { value, grads } = tf.variableGrads(() => {
          const out1 = net.forwardOnline(online1, 'train');
          const out2 = net.forwardOnline(online2, 'train');
          const inputs: LossInputs = { p1: out1.projection, p2: out2.projection, p1m, p2m, mixedPositives };
          if (net.predictor) {
            inputs.q1 = out1.p;
            inputs.q2 = out2.p;
          }
          const result = config.form === 'grad' ? method.gradient(inputs, config.target, state, hyper) : method.original(inputs, state, hyper);
          kept.posSim = tf.keep(result.posSim);
          kept.embeddingStd = tf.keep(tf.tidy(() => embeddingStd(out1.projection)));
          kept.state = keepState(result.state);
          return result.loss;
        }, [...params.values()]);

        const lossValue = (await value.data())[0];
        if (!Number.isFinite(lossValue)) {
          tf.dispose([value, ...Object.values(grads), view1, view2, online1, online2, p1m, p2m, kept.posSim, kept.embeddingStd]);
          if (mixedPositives) tf.dispose([mixedPositives.p1, mixedPositives.p2]);
          throw new NonFiniteLossError(step, lossValue, existsSync(checkpointPath) ? checkpointPath : '(none yet: the failure came before the first epoch ended)');
        }
        const named = new Map(Object.entries(grads).map(([varName, g]) => [keyOfVariable.get(varName)!, g]));
        optimizer.step(params, named, lr);

        // Replace the method state (F, queue) and free everything this step made.
        disposeState(state, kept.state);
        state = kept.state!;
        const posSim = (await kept.posSim!.data())[0];
        const embStd = (await kept.embeddingStd!.data())[0];
        tf.dispose([value, ...Object.values(grads), view1, view2, p1m, p2m, kept.posSim, kept.embeddingStd]);
        if (config.cutmix) tf.dispose([online1, online2, mixedPositives!.p1, mixedPositives!.p2]);

        step++;
        const metrics: StepMetrics = {
          loss: lossValue,
          pos_sim: posSim,
          lr,
          ema_momentum: emaMomentum,
          embedding_std: embStd,
          images_per_s: config.optim.batchSize / ((performance.now() - started) / 1000),
        };
        finalMetrics = metrics;
        appendFileSync(metricsPath, [step, epoch, ...Object.values(metrics)].join(',') + '\n');
        progress.update(step, metrics);
        if (step % config.output.logEvery === 0 || step === totalSteps) await options.onStep?.(step, metrics);
        if (options.stopAfterSteps !== undefined && step >= options.stopAfterSteps) stopRequested ??= 'SIGTERM';
        if (step >= totalSteps || stopRequested) break;
      }
      const epochDone = step % stepsPerEpoch === 0 || step >= totalSteps;
      saveCheckpointNow(epochDone ? epoch + 1 : epoch);
      if (epochDone) await options.onEpochEnd?.(epoch, step, net);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.done();
    disposeState(state);
    optimizer.dispose();
    net.dispose();
  }
  return { outDir, checkpointPath, metricsPath, steps: step, finalMetrics, interrupted: stopRequested !== null };
}

/** Mean over dimensions of the per-dimension std of the L2-normalised embeddings (1/sqrt(D) when healthy, 0 when collapsed). */
function embeddingStd(p: tf.Tensor2D): tf.Scalar {
  const z = tf.div(p, tf.maximum(tf.norm(p, 2, 1, true), 1e-12));
  return tf.moments(z, 0).variance.sqrt().mean() as tf.Scalar;
}

/** Keeps the new state's tensors alive past the tape. */
function keepState(next: MethodState): MethodState {
  for (const v of Object.values(next)) if (v) tf.keep(v);
  return next;
}

/** Disposes the tensors of `state` that `replacement` does not reuse. */
function disposeState(state: MethodState, replacement: MethodState = {}): void {
  const reused = new Set(Object.values(replacement));
  for (const v of Object.values(state)) if (v && !reused.has(v) && !v.isDisposed) v.dispose();
}

function pick<T>(record: Record<string, T>, keep: (key: string) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => keep(k)));
}

/** The metadata of a checkpoint written by this loop; anything else is an error naming the file. */
export function pretrainMeta(meta: unknown, path: string): CheckpointMeta {
  const m = meta as Partial<CheckpointMeta> | null;
  if (!m || m.kind !== 'unigrad-pretrain' || typeof m.step !== 'number' || !m.config) {
    throw new Error(`${path} is not a pretraining checkpoint written by apps/pretrain (no 'unigrad-pretrain' metadata)`);
  }
  return m as CheckpointMeta;
}
