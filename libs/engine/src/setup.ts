// Everything a training step needs, built from a resolved config: the method and its hyper-parameters, the
// Siamese network with exactly the branches the method needs, the optimizer, and the lr / EMA schedules.
import type { Variable } from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import { hyperOf, type PretrainConfig } from '@unigrad/configs';
import { branchesFor, getMethod, type Hyper, type Method } from '@unigrad/losses';
import { SiameseNet, type TrunkConfig } from '@unigrad/models';
import { LARS, SGD, isBiasOrNormParam, momentumSchedule, warmupCosineLr, type Optimizer } from '@unigrad/optimizers';
import { datasetChannels } from './datasets';

/** The trunk of a config; stem and zero-init residual only exist for the ResNets. */
export function trunkConfigFor(config: PretrainConfig): TrunkConfig {
  const { trunk, stem, widths, zeroInitResidual } = config.model;
  const common = { kind: trunk, inChannels: datasetChannels(config), widths };
  return trunk === 'convnet' ? common : { ...common, stem, zeroInitResidual };
}

/** What `trainStep` works on. The step mutates the network's and optimizer's variables, nothing else. */
export interface StepContext {
  method: Method;
  hyper: Hyper;
  form: PretrainConfig['form'];
  target: PretrainConfig['target'];
  cutmix: boolean;
  net: SiameseNet;
  optimizer: Optimizer;
  /** Online parameters by checkpoint key, and the key of each tfjs variable name (gradients come by variable name). */
  params: Map<string, Variable>;
  keyOfVariable: Map<string, string>;
}

export interface Training extends StepContext {
  lrAt(step: number): number;
  momentumAt(step: number): number;
}

export function buildTraining(config: PretrainConfig, schedule: { stepsPerEpoch: number; totalSteps: number }): Training {
  const method = getMethod(config.method);
  const branches = branchesFor(method, config.form, config.target);
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
  // Spec §7.2: SGD (momentum 0.9, wd on every parameter) or LARS (bias and norm parameters excluded).
  const optimizer: Optimizer =
    config.optim.optimizer === 'lars'
      ? new LARS({ momentum: config.optim.momentum, weightDecay: config.optim.weightDecay, exclude: isBiasOrNormParam })
      : new SGD({ momentum: config.optim.momentum, weightDecay: config.optim.weightDecay });
  const { stepsPerEpoch, totalSteps } = schedule;
  return {
    method,
    hyper: hyperOf(config),
    form: config.form,
    target: config.target,
    cutmix: config.cutmix,
    net,
    optimizer,
    params,
    keyOfVariable: new Map([...params].map(([key, v]) => [v.name, key])),
    lrAt: warmupCosineLr({
      baseLr: config.optim.baseLr,
      batchSize: config.optim.batchSize,
      warmupSteps: Math.min(Math.round(config.optim.warmupEpochs * stepsPerEpoch), totalSteps),
      totalSteps,
    }),
    momentumAt: momentumSchedule({ base: config.optim.baseMomentum, totalSteps }),
  };
}

/** Frees the network and optimizer of a Training. */
export function disposeTraining(training: Training): void {
  training.optimizer.dispose();
  training.net.dispose();
}
