// Linear evaluation (spec §8): a linear head, N(0, 0.01²) weights and zero bias, trained with SGD (momentum 0.9,
// wd 0) wrapped in LARS (trust 0.001, no clip), lr = baseLr·batch/256 with a per-epoch cosine and no warmup,
// cross-entropy; evaluated every `evalEvery` epochs and at the end; best and final top-1/top-5 reported.
// Two protocols share the head, optimizer and schedule:
//   'fast'  — features extracted once (trunk frozen, BN in eval mode), head trained on the cached rows;
//   'paper' — every epoch, fresh (augmented) batches go through the frozen trunk in eval mode.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import type { Network } from '@unigrad/models';
import { LARS, cosinePerEpochLr } from '@unigrad/optimizers';
import { countTopKCorrect } from './accuracy';
import {
  BatchSource,
  FeatureSet,
  ImageTransform,
  checkFeatureSet,
  checkLabels,
  disposeLabeledBatch,
  labelsOf,
} from './batches';
import { LinearHead } from './linear-head';
import { StandardizeOptions, fitStandardizer, standardizeFeatures } from './standardize';
import { crossEntropy, supervisedStep } from './train-step';

export type ProbeProtocol = 'fast' | 'paper';

export interface ProbeOptions {
  numClasses: number;
  /** Paper: 90. */
  epochs: number;
  /** Batch size of the head's training (paper 4096); also sets lr = baseLr·batchSize/256. */
  batchSize: number;
  /** Per-256 learning rate (paper 0.1). */
  baseLr?: number;
  /** Paper: 0.9. */
  momentum?: number;
  /** Paper: 0. */
  weightDecay?: number;
  /** LARS trust coefficient (paper 0.001). */
  trustCoefficient?: number;
  /** Evaluate after every `evalEvery`-th epoch and after the last one (paper 10). */
  evalEvery?: number;
  /** Seed of the head initialisation and (fast protocol) of the shuffling. Default 0. */
  seed?: number;
  /** Called after each evaluation. */
  onEval?: (result: ProbeEvaluation) => void;
  /** Called after each training epoch with its mean loss and learning rate. */
  onEpoch?: (epoch: number, trainLoss: number, lr: number) => void;
}

export interface ProbeEvaluation {
  /** Epochs completed when this evaluation ran (1-based). */
  epoch: number;
  /** Fractions in [0, 1]. */
  top1: number;
  top5: number;
}

export interface ProbeResult {
  protocol: ProbeProtocol;
  /** The evaluation with the highest top-1 (the paper reports this: `best_acc1`). */
  best: ProbeEvaluation;
  /** The evaluation after the last epoch. */
  final: ProbeEvaluation;
  history: ProbeEvaluation[];
  /** Mean training loss of each epoch. */
  trainLoss: number[];
  /** Learning rate of each epoch. */
  lr: number[];
}

/** Options of the fast (cached-feature) LARS probe: the paper's, plus optional feature standardisation. */
export interface FeatureProbeOptions extends ProbeOptions {
  /**
   * Standardise train and test features with the training split's per-dimension mean and std (fitStandardizer)
   * before the head sees them, so LARS steps no longer depend on each input dimension's scale. Default false
   * (the features as given, as in the paper protocol).
   */
  standardize?: boolean | StandardizeOptions;
}

interface ProbeSetup {
  head: LinearHead;
  optimizer: LARS;
  lrAt: (epoch: number) => number;
  evalEvery: number;
}

function setupProbe(inputDim: number, options: ProbeOptions): ProbeSetup {
  const { numClasses, epochs, batchSize } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const evalEvery = options.evalEvery ?? 10;
  if (!Number.isInteger(evalEvery) || evalEvery < 1) throw new Error(`evalEvery must be a positive integer, got ${evalEvery}`);
  const lrAt = cosinePerEpochLr({ baseLr: options.baseLr ?? 0.1, batchSize, epochs });
  const head = new LinearHead(inputDim, numClasses, { rng: new Rng(options.seed ?? 0), initStd: 0.01 });
  const optimizer = new LARS({
    momentum: options.momentum ?? 0.9,
    weightDecay: options.weightDecay ?? 0,
    trustCoefficient: options.trustCoefficient ?? 0.001,
    clip: false,
  });
  return { head, optimizer, lrAt, evalEvery };
}

function isEvalEpoch(epoch: number, options: ProbeOptions, evalEvery: number): boolean {
  return epoch % evalEvery === 0 || epoch === options.epochs;
}

function summarise(protocol: ProbeProtocol, history: ProbeEvaluation[], trainLoss: number[], lr: number[]): ProbeResult {
  const best = history.reduce((a, b) => (b.top1 > a.top1 ? b : a));
  return { protocol, best, final: history[history.length - 1], history, trainLoss, lr };
}

/** Top-1/top-5 of the head on cached features, in chunks. */
function evaluateHeadOnFeatures(head: LinearHead, test: FeatureSet, numClasses: number, chunk = 4096): { top1: number; top5: number } {
  let c1 = 0;
  let c5 = 0;
  for (let start = 0; start < test.count; start += chunk) {
    const size = Math.min(chunk, test.count - start);
    const logits = tf.tidy(() => head.apply(tf.tensor2d(test.features.subarray(start * test.dim, (start + size) * test.dim), [size, test.dim]), 'eval'));
    const scores = logits.dataSync() as Float32Array;
    logits.dispose();
    const [a, b] = countTopKCorrect(scores, numClasses, test.labels.subarray(start, start + size), [1, Math.min(5, numClasses)]);
    c1 += a;
    c5 += b;
  }
  return { top1: c1 / test.count, top5: c5 / test.count };
}

/**
 * The fast protocol: the same head, optimizer and schedule as the paper, trained on cached frozen features
 * (`extractFeatures`). Shuffled each epoch with a seeded `Rng`; the last partial batch is kept (PyTorch default).
 * With `standardize`, both sets are first standardised with the training statistics.
 *
 * Note: `best` is the best evaluation on `test` (the paper's `best_acc1`), i.e. chosen on the test set; for a
 * number selected without the test set use `fitLogisticProbe` (logistic-probe.ts).
 */
export async function trainLinearProbeOnFeatures(train: FeatureSet, test: FeatureSet, options: FeatureProbeOptions): Promise<ProbeResult> {
  checkFeatureSet('probe train features', train);
  checkFeatureSet('probe test features', test);
  if (train.dim !== test.dim) throw new Error(`probe: train dim ${train.dim} differs from test dim ${test.dim}`);
  checkLabels('probe train labels', train.labels, options.numClasses);
  checkLabels('probe test labels', test.labels, options.numClasses);
  if (options.standardize) {
    const standardizer = fitStandardizer(train, options.standardize === true ? {} : options.standardize);
    train = standardizeFeatures(train, standardizer);
    test = standardizeFeatures(test, standardizer);
  }
  const { head, optimizer, lrAt, evalEvery } = setupProbe(train.dim, options);
  const shuffleRng = new Rng((options.seed ?? 0) ^ 0x5eed);
  const x = tf.tensor2d(train.features, [train.count, train.dim]);
  const y = tf.tensor1d(train.labels, 'int32');
  const history: ProbeEvaluation[] = [];
  const losses: number[] = [];
  const lrs: number[] = [];
  try {
    for (let e = 0; e < options.epochs; e++) {
      const lr = lrAt(e);
      const order = shuffleRng.permutation(train.count);
      let lossSum: tf.Tensor = tf.scalar(0);
      for (let start = 0; start < train.count; start += options.batchSize) {
        const rows = order.subarray(start, Math.min(train.count, start + options.batchSize));
        const idx = tf.tensor1d(rows, 'int32');
        const bx = tf.gather(x, idx) as tf.Tensor2D;
        const by = tf.gather(y, idx) as tf.Tensor1D;
        const loss = supervisedStep(head.params, optimizer, lr, () => crossEntropy(head.apply(bx, 'train'), by));
        const next = tf.tidy(() => tf.add(lossSum, tf.mul(loss, rows.length)));
        tf.dispose([idx, bx, by, loss, lossSum]);
        lossSum = next;
      }
      const meanLoss = (await lossSum.data())[0] / train.count;
      lossSum.dispose();
      losses.push(meanLoss);
      lrs.push(lr);
      options.onEpoch?.(e + 1, meanLoss, lr);
      if (isEvalEpoch(e + 1, options, evalEvery)) {
        const result = { epoch: e + 1, ...evaluateHeadOnFeatures(head, test, options.numClasses) };
        history.push(result);
        options.onEval?.(result);
      }
    }
  } finally {
    tf.dispose([x, y]);
    head.dispose();
    optimizer.dispose();
  }
  return summarise('fast', history, losses, lrs);
}

export interface PaperProbeData {
  /** Training batches of one epoch (0-based), shuffled by the source; augmentation may happen here or in trainTransform. */
  trainBatches: (epoch: number) => BatchSource;
  /** Validation batches (a fresh pass each call). */
  testBatches: () => BatchSource;
  /** Applied to training images before the trunk (e.g. random resized crop + flip + normalise). */
  trainTransform?: ImageTransform;
  /** Applied to validation images before the trunk (e.g. normalise). */
  testTransform?: ImageTransform;
}

/** Top-1/top-5 of trunk → head over batches, both in eval mode. The batches are consumed and disposed. */
export async function evaluateClassifier(
  trunk: Network,
  head: Network,
  batches: BatchSource,
  transform?: ImageTransform,
): Promise<{ top1: number; top5: number }> {
  let c1 = 0;
  let c5 = 0;
  let n = 0;
  for await (const batch of batches) {
    try {
      const labels = await labelsOf(batch);
      const logits = tf.tidy(() => head.apply(trunk.apply(transform ? transform(batch.x) : batch.x, 'eval'), 'eval'));
      const scores = (await logits.data()) as Float32Array;
      logits.dispose();
      const [a, b] = countTopKCorrect(scores, head.outputDim, labels, [1, Math.min(5, head.outputDim)]);
      c1 += a;
      c5 += b;
      n += labels.length;
    } finally {
      disposeLabeledBatch(batch);
    }
  }
  if (n === 0) throw new Error('evaluateClassifier: the batch source yielded no images');
  return { top1: c1 / n, top5: c5 / n };
}

/**
 * The paper protocol: the trunk is frozen (its variables are outside the optimizer and outside the gradient tape)
 * and runs in eval mode (BatchNorm on running statistics, buffers untouched); only the linear head learns.
 */
export async function trainLinearProbe(trunk: Network, data: PaperProbeData, options: ProbeOptions): Promise<ProbeResult> {
  const { head, optimizer, lrAt, evalEvery } = setupProbe(trunk.outputDim, options);
  const history: ProbeEvaluation[] = [];
  const losses: number[] = [];
  const lrs: number[] = [];
  try {
    for (let e = 0; e < options.epochs; e++) {
      const lr = lrAt(e);
      let lossSum: tf.Tensor = tf.scalar(0);
      let seen = 0;
      for await (const batch of data.trainBatches(e)) {
        try {
          const labels = await labelsOf(batch);
          checkLabels('probe train labels', labels, options.numClasses);
          // Features are computed before the tape: no gradient can reach the trunk.
          const feats = tf.tidy(() => trunk.apply(data.trainTransform ? data.trainTransform(batch.x) : batch.x, 'eval'));
          const by = tf.tensor1d(labels, 'int32');
          const loss = supervisedStep(head.params, optimizer, lr, () => crossEntropy(head.apply(feats, 'train'), by));
          const next = tf.tidy(() => tf.add(lossSum, tf.mul(loss, labels.length)));
          tf.dispose([feats, by, loss, lossSum]);
          lossSum = next;
          seen += labels.length;
        } finally {
          disposeLabeledBatch(batch);
        }
      }
      if (seen === 0) throw new Error(`trainLinearProbe: epoch ${e} yielded no training images`);
      const meanLoss = (await lossSum.data())[0] / seen;
      lossSum.dispose();
      losses.push(meanLoss);
      lrs.push(lr);
      options.onEpoch?.(e + 1, meanLoss, lr);
      if (isEvalEpoch(e + 1, options, evalEvery)) {
        const result = { epoch: e + 1, ...(await evaluateClassifier(trunk, head, data.testBatches(), data.testTransform)) };
        history.push(result);
        options.onEval?.(result);
      }
    }
  } finally {
    head.dispose();
    optimizer.dispose();
  }
  return summarise('paper', history, losses, lrs);
}
