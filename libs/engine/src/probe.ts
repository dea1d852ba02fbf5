// Linear evaluation (spec §8): the online trunk of a pretraining checkpoint, frozen with BatchNorm in inference
// mode, and a linear head trained with LARS. Also the baselines' encoders (raw pixels, random, supervised), so
// every number of the table comes from the same probe.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import { augment, batches, linearTrainAugment, type Dataset } from '@unigrad/data';
import { warmupCosineLr } from '@unigrad/optimizers';
import {
  LinearHead,
  fitLogisticProbe,
  pixelTrunk,
  trainLinearProbe,
  trainLinearProbeOnFeatures,
  trainSupervised,
  type LogisticProbeFitEvent,
  type ProbeResult,
} from '@unigrad/eval';
import { createTrunk, type Network } from '@unigrad/models';
import type { BaselineKind } from '@unigrad/experiments';
import { openDataset } from './datasets';
import { datasetFeatures, evalImageTransform } from './features';
import { trunkConfigFor } from './setup';
import { scheduleOf } from './train';
import { augmentConfigFor } from './views';

/** Which probe ran, as the results table shows it (e.g. "logistic-lbfgs", "fast-lars-20ep"). */
export function probeLabel(config: PretrainConfig): string {
  return config.probe.kind === 'logistic' ? 'logistic-lbfgs' : `${config.probe.kind}-lars-${config.probe.epochs}ep`;
}

/** What a probe reports, whichever protocol ran. */
export interface ProbeReport {
  protocol: string;
  /** The table's number (fractions): for `logistic` the test set evaluated once; for `fast` the final epoch; for `paper` the best evaluation, as the official protocol reports it. */
  top1: number;
  top5: number;
  /** How `top1` was chosen. */
  selection: 'test-once' | 'final-epoch' | 'best-epoch';
  /** Extra numbers for the tracked probe run (validation accuracy, chosen L2, iterations, …). */
  metrics: Record<string, number>;
  /** Per-epoch (LARS) or per-grid-point (logistic) series: [x, metrics, when measured (ms since the epoch)]. */
  series: [number, Record<string, number>, number?][];
}

/**
 * Trains the linear probe of `config.probe` on a frozen trunk; the trunk's variables are never updated. The probe
 * always trains on the full training split (data.subset only shortens pretraining).
 * - `logistic` (fmnist, quick): features standardised with training statistics, multinomial logistic regression
 *   fitted to convergence with L-BFGS, L2 chosen on a validation split held out of the training set, refit on all
 *   of it, test evaluated once (libs/eval fitLogisticProbe): no learning rate, no test-set selection, and the
 *   same fit for raw pixels and a 64-d encoder.
 * - `fast`: the LARS head on cached features (its final epoch is reported, never the best on test).
 * - `paper`: the official LARS protocol on augmented batches through the frozen trunk (spec §8), unchanged.
 */
export async function probeTrunk(trunk: Network, config: PretrainConfig, log = true): Promise<ProbeReport> {
  const train = await openDataset(config, 'train');
  const test = await openDataset(config, 'test');
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  if (config.probe.kind === 'logistic') {
    const trainFeatures = await datasetFeatures(trunk, train, config.data.imageSize, undefined, config.seed);
    const testFeatures = await datasetFeatures(trunk, test, config.data.imageSize, undefined, config.seed);
    const selectedAt: number[] = []; // when each selection fit of the grid finished
    const fit = fitLogisticProbe(trainFeatures, testFeatures, {
      numClasses: train.classes.length,
      seed: config.seed,
      l2Grid: config.probe.l2Grid,
      onFit: (e) => {
        if (e.phase === 'select') selectedAt.push(Date.now());
        if (log) console.log(`[probe] ${describeFit(e)}`);
      },
    });
    if (log) console.log(`[probe] L2 ${fit.l2} (validation top-1 ${fit.validation ? pct(fit.validation.top1) : 'n/a'}), test top-1 ${pct(fit.test.top1)}, ${fit.converged ? 'converged' : `NOT converged (${fit.stopReason})`} in ${fit.iterations} iterations`);
    return {
      protocol: probeLabel(config),
      top1: fit.test.top1,
      top5: fit.test.top5,
      selection: 'test-once',
      metrics: {
        probe_val_top1: fit.validation?.top1 ?? NaN,
        probe_l2: fit.l2,
        probe_iterations: fit.iterations,
        probe_train_loss: fit.trainLoss,
        probe_grad_norm: fit.gradNorm,
        probe_converged: fit.converged ? 1 : 0,
      },
      series: fit.grid.map((g, i) => [i, { grid_l2: g.l2, grid_val_top1: g.validation.top1, grid_iterations: g.iterations, grid_train_loss: g.trainLoss }, selectedAt[i]]),
    };
  }
  const epochAt = new Map<number, number>(); // when each epoch (and its evaluation, if any) finished
  const options = {
    numClasses: train.classes.length,
    epochs: config.probe.epochs,
    batchSize: config.probe.batchSize,
    baseLr: config.probe.baseLr,
    evalEvery: config.probe.evalEvery,
    seed: config.seed,
    onEval: (e: { epoch: number; top1: number; top5: number }) => {
      epochAt.set(e.epoch, Date.now());
      if (log) console.log(`[probe] epoch ${e.epoch}: top-1 ${pct(e.top1)}  top-5 ${pct(e.top5)}`);
    },
    onEpoch: (epoch: number) => void epochAt.set(epoch, Date.now()),
  };
  let result: ProbeResult;
  if (config.probe.kind === 'fast') {
    // Frozen features are computed once; the head then trains on the cached features with the same optimizer.
    const trainFeatures = await datasetFeatures(trunk, train, config.data.imageSize, undefined, config.seed);
    const testFeatures = await datasetFeatures(trunk, test, config.data.imageSize, undefined, config.seed);
    result = await trainLinearProbeOnFeatures(trainFeatures, testFeatures, options);
  } else {
    const trainAugment = linearTrainAugment(config.data.imageSize, train.channels, train);
    let augmentedBatches = 0; // each batch gets its own seeded draw
    result = await trainLinearProbe(
      trunk,
      {
        trainBatches: (epoch) => batches(train, { batchSize: config.probe.batchSize, seed: config.seed, epoch }),
        testBatches: () => batches(test, { batchSize: 256, shuffle: false }),
        trainTransform: (x) => augment(x as tf.Tensor4D, trainAugment, new Rng(config.seed * 1000003 + augmentedBatches++)),
        testTransform: evalImageTransform(test, config.data.imageSize),
      },
      options,
    );
  }
  const reported = config.probe.kind === 'paper' ? result.best : result.final;
  const series = new Map<number, Record<string, number>>();
  for (const e of result.history) series.set(e.epoch, { top1: e.top1, top5: e.top5 });
  result.trainLoss.forEach((loss, i) => series.set(i + 1, { ...series.get(i + 1), train_loss: loss, lr: result.lr[i] }));
  return {
    protocol: probeLabel(config),
    top1: reported.top1,
    top5: reported.top5,
    selection: config.probe.kind === 'paper' ? 'best-epoch' : 'final-epoch',
    metrics: { probe_best_top1: result.best.top1, probe_best_epoch: result.best.epoch, probe_final_top1: result.final.top1, probe_final_top5: result.final.top5 },
    series: [...series.entries()].sort((a, b) => a[0] - b[0]).map(([x, m]) => [x, m, epochAt.get(x)]),
  };
}

function describeFit(e: LogisticProbeFitEvent): string {
  const validation = e.validation ? `, validation top-1 ${(100 * e.validation.top1).toFixed(2)}%` : '';
  return `${e.phase === 'select' ? 'selection fit' : 'final refit'} L2 ${e.l2}${validation}, ${e.iterations} iterations${e.converged ? '' : ` (not converged: ${e.stopReason})`}`;
}

/**
 * The encoder of a baseline, on the same data and architecture as the SSL runs:
 * raw = identity on pixels; random = a fresh trunk (same seed rule); supervised = that trunk trained end to end
 * with labels under the same views (the config's augmentation, one view per image), epochs, optimizer and per-step
 * warm-up + cosine schedule as the SSL runs: an upper bound trained as the methods it bounds.
 */
export async function baselineTrunk(kind: BaselineKind, config: PretrainConfig, log = true): Promise<Network> {
  const train: Dataset = await openDataset(config, 'train');
  if (kind === 'raw') return pixelTrunk([config.data.imageSize, config.data.imageSize, train.channels]);
  const trunk = createTrunk(trunkConfigFor(config), new Rng(config.seed));
  if (kind === 'random') return trunk;
  const head = new LinearHead(trunk.outputDim, train.classes.length, { rng: config.seed });
  const view = augmentConfigFor(config, train);
  const { stepsPerEpoch, totalSteps } = scheduleOf(config, train.n);
  const lrAtStep = warmupCosineLr({
    baseLr: config.optim.baseLr,
    batchSize: config.optim.batchSize,
    warmupSteps: Math.min(Math.round(config.optim.warmupEpochs * stepsPerEpoch), totalSteps),
    totalSteps,
  });
  let step = 0;
  await trainSupervised(trunk, head, (epoch) => batches(train, { batchSize: config.optim.batchSize, seed: config.seed, epoch, dropLast: true, subset: config.data.subset }), {
    numClasses: train.classes.length,
    epochs: config.optim.epochs,
    batchSize: config.optim.batchSize,
    baseLr: config.optim.baseLr,
    momentum: config.optim.momentum,
    weightDecay: config.optim.weightDecay,
    lrAtStep,
    transform: (x) => augment(x as tf.Tensor4D, view, new Rng(config.seed * 1000003 + step++)),
    onEpoch: log ? (epoch, loss) => console.log(`[supervised] epoch ${epoch}: loss ${loss.toFixed(4)}`) : undefined,
  });
  head.dispose();
  return trunk;
}
