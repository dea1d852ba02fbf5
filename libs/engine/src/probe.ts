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
  pixelTrunk,
  trainLinearProbe,
  trainLinearProbeOnFeatures,
  trainSupervised,
  type ProbeResult,
} from '@unigrad/eval';
import { createTrunk, type Network } from '@unigrad/models';
import type { BaselineKind } from '@unigrad/experiments';
import { openDataset } from './datasets';
import { datasetFeatures, evalImageTransform } from './features';
import { trunkConfigFor } from './setup';
import { scheduleOf } from './train';
import { augmentConfigFor } from './views';

/** Which probe ran, as the results table shows it (e.g. "fast-lars-30ep"). */
export function probeLabel(config: PretrainConfig): string {
  return `${config.probe.kind}-lars-${config.probe.epochs}ep`;
}

/** Trains the linear probe of `config.probe` on a frozen trunk; the trunk's variables are never updated. */
export async function probeTrunk(trunk: Network, config: PretrainConfig, log = true): Promise<ProbeResult> {
  const train = await openDataset(config, 'train');
  const test = await openDataset(config, 'test');
  const options = {
    numClasses: train.classes.length,
    epochs: config.probe.epochs,
    batchSize: config.probe.batchSize,
    baseLr: config.probe.baseLr,
    evalEvery: config.probe.evalEvery,
    seed: config.seed,
    onEval: log ? (e: { epoch: number; top1: number; top5: number }) => console.log(`[probe] epoch ${e.epoch}: top-1 ${(100 * e.top1).toFixed(2)}%  top-5 ${(100 * e.top5).toFixed(2)}%`) : undefined,
  };
  if (config.probe.kind === 'fast') {
    // Frozen features are computed once; the head then trains on the cached features with the same optimizer.
    // The probe always trains on the full training split (data.subset only shortens pretraining): LARS moves the
    // head by ~lr·0.001 of its norm per step, so a probe on a small subset would barely leave its initialisation.
    const trainFeatures = await datasetFeatures(trunk, train, config.data.imageSize, undefined, config.seed);
    const testFeatures = await datasetFeatures(trunk, test, config.data.imageSize, undefined, config.seed);
    return trainLinearProbeOnFeatures(trainFeatures, testFeatures, options);
  }
  const trainAugment = linearTrainAugment(config.data.imageSize, train.channels, train);
  let augmentedBatches = 0; // each batch gets its own seeded draw
  return trainLinearProbe(
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
