// Opens the dataset a config names. Kept out of the training loop so the loop reads top to bottom.
import { Rng } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import { ArrayDataset, ImageFolder, channelStats, loadCifar10, loadFashionMnist, type Dataset } from '@unigrad/data';
import { join } from 'node:path';

/** Image side and channels of the synthetic dataset used by --dry-run (the paper preset's 3-channel images). */
const SYNTHETIC_IMAGES = 64;

/**
 * A small random dataset (uniform pixels, random labels), seeded: lets `--dry-run` build and run any preset
 * without its real data.
 */
export function syntheticDataset(size: number, channels: 1 | 3, seed: number, n = SYNTHETIC_IMAGES): ArrayDataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * size * size * channels);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(10);
  const classes = Array.from({ length: 10 }, (_, k) => `class${k}`);
  return new ArrayDataset('synthetic', images, labels, size, size, channels, classes, channelStats(images, channels));
}

/** The dataset for a split; `dir` '' means the dataset's default location. */
export async function openDataset(config: PretrainConfig, split: 'train' | 'test'): Promise<Dataset> {
  const { dataset, dir, imageSize } = config.data;
  switch (dataset) {
    case 'fashion-mnist':
      return loadFashionMnist(split, dir || undefined);
    case 'cifar10':
      if (!dir) throw new Error('data.dir must point at the CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin)');
      return loadCifar10(dir, split);
    case 'imagefolder':
      if (!dir) throw new Error('data.dir must point at an ImageNet-style folder with train/<class>/ and val/<class>/ sub-folders');
      // Stored at the crop size's 256/224 ratio, as the paper's Resize(256) + crop(224).
      return new ImageFolder(join(dir, split === 'train' ? 'train' : 'val'), { size: Math.round((imageSize * 256) / 224) });
    case 'synthetic':
      return syntheticDataset(imageSize, config.model.trunk === 'convnet' ? 1 : 3, split === 'train' ? config.seed : config.seed + 1);
  }
}

/** Image channels the trunk must accept for this config's dataset. */
export function datasetChannels(config: PretrainConfig): 1 | 3 {
  if (config.data.dataset === 'fashion-mnist') return 1;
  if (config.data.dataset === 'synthetic') return config.model.trunk === 'convnet' ? 1 : 3;
  return 3;
}
