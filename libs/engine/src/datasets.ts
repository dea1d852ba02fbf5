// The dataset of a config, through libs/data's registry: the loop and the probes open data only here.
import type { PretrainConfig } from '@unigrad/configs';
import { findFashionMnistDir, getDatasetSpec, type Dataset } from '@unigrad/data';
import type { DatasetInput } from '@unigrad/tracking';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/** Image channels the trunk takes for this config: the dataset's own, or (synthetic data) 1 for the convnet, else 3. */
export function datasetChannels(config: PretrainConfig): 1 | 3 {
  return getDatasetSpec(config.data.dataset).channels ?? (config.model.trunk === 'convnet' ? 1 : 3);
}

/** Opened datasets by what identifies them: pretraining, its kNN monitor, the probe and the dataset digests of one
 * process (a table of cells) share one copy instead of reading and decoding the same files again. Datasets are
 * read-only, so sharing is safe. */
const opened = new Map<string, Promise<Dataset>>();

export function openDataset(config: PretrainConfig, split: 'train' | 'test'): Promise<Dataset> {
  const options = { split, dir: config.data.dir, imageSize: config.data.imageSize, channels: datasetChannels(config), seed: config.seed };
  const key = JSON.stringify([config.data.dataset, options]);
  let dataset = opened.get(key);
  if (!dataset) {
    dataset = getDatasetSpec(config.data.dataset).open(options);
    // A failed open is not remembered: the next call tries again (and reports its own error).
    dataset.catch(() => opened.delete(key));
    opened.set(key, dataset);
  }
  return dataset;
}

/** Where a config's data is read from: data.dir, or (Fashion-MNIST) the directory found on this machine. */
export function datasetSourcePath(config: PretrainConfig): string {
  if (config.data.dir) return resolve(config.data.dir);
  if (config.data.dataset === 'fashion-mnist') {
    try {
      return findFashionMnistDir();
    } catch {
      return 'not found';
    }
  }
  return config.data.dataset === 'synthetic' ? `synthetic (seed ${config.seed})` : 'unset';
}

/** Images hashed (with all labels) for the digest: enough to tell datasets and their versions apart, cheaply. */
const DIGEST_IMAGES = 256;

/**
 * A content digest of a dataset split (32 hex characters, within MLflow's 36): SHA-256 over its shape, class names,
 * every label and the pixels of its first images, so another version or ordering of the data has another digest.
 */
export async function datasetDigest(dataset: Dataset): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ n: dataset.n, h: dataset.height, w: dataset.width, c: dataset.channels, classes: dataset.classes }));
  hash.update(new Uint8Array(dataset.labels.buffer, dataset.labels.byteOffset, dataset.labels.byteLength));
  const first = Array.from({ length: Math.min(DIGEST_IMAGES, dataset.n) }, (_, i) => i);
  if (first.length > 0) hash.update((await dataset.readBatch(first)).pixels);
  return hash.digest('hex').slice(0, 32);
}

/** The split as an MLflow dataset input: name, content digest, source directory, size in the profile. */
export async function datasetInput(config: PretrainConfig, split: 'train' | 'test', context: string, dataset?: Dataset): Promise<DatasetInput> {
  const data = dataset ?? (await openDataset(config, split));
  return {
    name: `${config.data.dataset}-${split}`,
    digest: await datasetDigest(data),
    sourceType: 'local',
    source: JSON.stringify({ path: datasetSourcePath(config) }),
    profile: JSON.stringify({ num_rows: data.n, image_size: config.data.imageSize, channels: data.channels, classes: data.classes.length, ...(split === 'train' && config.data.subset ? { subset: config.data.subset } : {}) }),
    context,
  };
}
