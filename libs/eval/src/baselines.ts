// Baselines that give the SSL numbers a scale: a linear probe on raw pixels (`pixelTrunk` + extractFeatures),
// on a frozen randomly initialised encoder (extractFeatures on a fresh trunk), and a supervised encoder trained
// end to end with cross-entropy (the upper bound).
import * as tf from '@tensorflow/tfjs';
import type { Mode, Network } from '@unigrad/models';
import { SGD, cosinePerEpochLr } from '@unigrad/optimizers';
import { BatchSource, ImageTransform, checkLabels, disposeLabeledBatch, labelsOf } from './batches';
import { crossEntropy, supervisedStep } from './train-step';

/** A parameter-free "trunk" whose features are the flattened input pixels (HWC order). */
export function pixelTrunk(inputShape: readonly number[]): Network {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`pixelTrunk: inputShape must be positive integers (e.g. [28, 28, 1]), got [${inputShape}]`);
  }
  const outputDim = inputShape.reduce((a, b) => a * b, 1);
  return {
    name: 'pixels',
    params: new Map(),
    buffers: new Map(),
    outputDim,
    apply(x: tf.Tensor, _mode: Mode): tf.Tensor2D {
      const shape = x.shape.slice(1);
      if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
        throw new Error(`pixelTrunk: expected images [N, ${inputShape}], got [${x.shape}]`);
      }
      return tf.reshape(x, [x.shape[0], outputDim]);
    },
    dispose(): void {},
  };
}

export interface SupervisedOptions {
  numClasses: number;
  epochs: number;
  /** Batch size the iterator yields; sets lr = baseLr·batchSize/256. */
  batchSize: number;
  /** Per-256 learning rate (default 0.1), per-epoch cosine. */
  baseLr?: number;
  momentum?: number;
  /** Default 5e-4, on all parameters. */
  weightDecay?: number;
  /** Applied to training images before the trunk (augmentation + normalisation). */
  transform?: ImageTransform;
  /**
   * Per-step learning rate (step = optimizer steps so far); replaces the per-epoch cosine, so an upper bound can
   * train on the same schedule as the SSL runs it bounds. `lr` in the result is then each epoch's first step's.
   */
  lrAtStep?: (step: number) => number;
  onEpoch?: (epoch: number, trainLoss: number, lr: number) => void;
}

export interface SupervisedResult {
  /** Mean training loss of each epoch. */
  trainLoss: number[];
  lr: number[];
}

/**
 * Trains trunk + head end to end with cross-entropy and SGD (trunk BatchNorm in train mode). Both networks
 * are updated in place; evaluate them with `evaluateClassifier` or probe the trunk.
 */
export async function trainSupervised(
  trunk: Network,
  head: Network,
  trainBatches: (epoch: number) => BatchSource,
  options: SupervisedOptions,
): Promise<SupervisedResult> {
  if (head.outputDim !== options.numClasses) throw new Error(`head outputs ${head.outputDim} classes, numClasses is ${options.numClasses}`);
  const params = new Map<string, tf.Variable>();
  for (const [name, v] of trunk.params) params.set(`trunk.${name}`, v);
  for (const [name, v] of head.params) params.set(`head.${name}`, v);
  const optimizer = new SGD({ momentum: options.momentum ?? 0.9, weightDecay: options.weightDecay ?? 5e-4 });
  const lrAt = cosinePerEpochLr({ baseLr: options.baseLr ?? 0.1, batchSize: options.batchSize, epochs: options.epochs });
  const trainLoss: number[] = [];
  const lrs: number[] = [];
  let step = 0;
  try {
    for (let e = 0; e < options.epochs; e++) {
      const epochLr = options.lrAtStep ? options.lrAtStep(step) : lrAt(e);
      let lossSum: tf.Tensor = tf.scalar(0);
      let seen = 0;
      for await (const batch of trainBatches(e)) {
        try {
          const labels = await labelsOf(batch);
          checkLabels('supervised train labels', labels, options.numClasses);
          const by = tf.tensor1d(labels, 'int32');
          const lr = options.lrAtStep ? options.lrAtStep(step) : epochLr;
          step++;
          const loss = supervisedStep(params, optimizer, lr, () => {
            const x = options.transform ? options.transform(batch.x) : batch.x;
            return crossEntropy(head.apply(trunk.apply(x, 'train'), 'train'), by);
          });
          const next = tf.tidy(() => tf.add(lossSum, tf.mul(loss, labels.length)));
          tf.dispose([by, loss, lossSum]);
          lossSum = next;
          seen += labels.length;
        } finally {
          disposeLabeledBatch(batch);
        }
      }
      if (seen === 0) throw new Error(`trainSupervised: epoch ${e} yielded no training images`);
      const meanLoss = (await lossSum.data())[0] / seen;
      lossSum.dispose();
      if (!Number.isFinite(meanLoss)) throw new Error(`trainSupervised: loss became ${meanLoss} in epoch ${e + 1}; lower baseLr`);
      trainLoss.push(meanLoss);
      lrs.push(epochLr);
      options.onEpoch?.(e + 1, meanLoss, epochLr);
    }
  } finally {
    optimizer.dispose();
  }
  return { trainLoss, lr: lrs };
}
