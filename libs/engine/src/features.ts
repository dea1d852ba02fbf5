// Frozen-trunk features of a dataset, with the evaluation transform (spec §8), for the kNN monitor and the probes.
import * as tf from '@tensorflow/tfjs';
import { batches, evalTransform, type Dataset } from '@unigrad/data';
import { effectiveRank, extractFeatures, knnAccuracy, type FeatureSet, type TopKResult } from '@unigrad/eval';
import type { Network } from '@unigrad/models';

/**
 * Resize(256/224) + CenterCrop + Normalize for ImageNet-size images (spec §8); at 28–32 px the centre crop would
 * cut away a sixth of a small object, so small images are only resized to the input size and normalised.
 */
export function evalImageTransform(dataset: Dataset, imageSize: number): (x: tf.Tensor) => tf.Tensor {
  const resizeRatio = imageSize >= 64 ? 256 / 224 : 1;
  return (x) => evalTransform(x as tf.Tensor4D, { imageSize, resizeRatio, mean: dataset.mean, std: dataset.std });
}

/** Features of `count` images (a fixed seeded subset; absent = all) in dataset order. */
export async function datasetFeatures(trunk: Network, dataset: Dataset, imageSize: number, count: number | undefined, seed: number): Promise<FeatureSet> {
  const subset = count !== undefined && count < dataset.n ? count : undefined;
  const source = batches(dataset, { batchSize: 512, shuffle: false, seed, subset });
  return extractFeatures(trunk, source, { transform: evalImageTransform(dataset, imageSize), chunkSize: 256 });
}

/** The kNN monitor (spec §7.2: k 200, T 0.1, cosine on trunk features): train bank vs test queries; plus RankMe of the bank. */
export async function knnMonitor(
  trunk: Network,
  train: Dataset,
  test: Dataset,
  options: { imageSize: number; bankSize?: number; querySize?: number; k: number; temperature: number; seed: number },
): Promise<TopKResult & { rankMe: number }> {
  const bank = await datasetFeatures(trunk, train, options.imageSize, options.bankSize, options.seed);
  const queries = await datasetFeatures(trunk, test, options.imageSize, options.querySize, options.seed);
  const accuracy = knnAccuracy(bank, queries, { numClasses: train.classes.length, k: options.k, temperature: options.temperature });
  // The collapse signal on the same bank features: effective rank (RankMe) of the frozen trunk's representation.
  return { ...accuracy, rankMe: effectiveRank(bank) };
}
