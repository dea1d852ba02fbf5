// Name → dataset: how to open each split, its channels and where it lives. A new dataset is one entry here (or one
// `registerDataset` call); the config's `data.dataset` enum and the engine's loaders derive from this registry.
import { Rng } from '@unigrad/core';
import { join } from 'node:path';
import { loadCifar10 } from './cifar';
import { ArrayDataset, channelStats, type Dataset } from './dataset';
import { loadFashionMnist } from './fashion-mnist';
import { ImageFolder } from './image-folder';

export interface OpenOptions {
  split: 'train' | 'test';
  /** Dataset directory; absent = the dataset's default location (if it has one). */
  dir?: string;
  /** Side of the crops the network sees (ImageFolder stores images at the 256/224 ratio of it). */
  imageSize: number;
  /** Channels the trunk expects: only datasets without fixed channels (synthetic) use it. */
  channels: 1 | 3;
  seed: number;
}

export interface DatasetSpec {
  name: string;
  description: string;
  /** Image channels; undefined = whatever the trunk expects (synthetic data). */
  channels?: 1 | 3;
  open(options: OpenOptions): Promise<Dataset>;
}

/** Images in the synthetic dataset used by --dry-run. */
const SYNTHETIC_IMAGES = 64;

/** A small random dataset (uniform pixels, random labels), seeded: lets `--dry-run` build any preset without its data. */
export function syntheticDataset(size: number, channels: 1 | 3, seed: number, n = SYNTHETIC_IMAGES): ArrayDataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * size * size * channels);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(10);
  const classes = Array.from({ length: 10 }, (_, k) => `class${k}`);
  return new ArrayDataset('synthetic', images, labels, size, size, channels, classes, channelStats(images, channels));
}

function needDir(dir: string | undefined, what: string): string {
  if (!dir) throw new Error(`data.dir must point at ${what}`);
  return dir;
}

const BUILTIN: readonly DatasetSpec[] = [
  {
    name: 'fashion-mnist',
    description: "Fashion-MNIST, 60k/10k 28×28 grayscale (Debian's dataset-fashion-mnist, or data.dir)",
    channels: 1,
    open: async ({ split, dir }) => loadFashionMnist(split, dir),
  },
  {
    name: 'cifar10',
    description: 'CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin) in data.dir',
    channels: 3,
    open: async ({ split, dir }) => loadCifar10(needDir(dir, 'the CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin)'), split),
  },
  {
    name: 'imagefolder',
    description: 'ImageNet-style folder: data.dir/train/<class>/ and data.dir/val/<class>/',
    channels: 3,
    // Stored at the crop size's 256/224 ratio, as the paper's Resize(256) + crop(224).
    open: async ({ split, dir, imageSize }) =>
      new ImageFolder(join(needDir(dir, 'an ImageNet-style folder with train/<class>/ and val/<class>/ sub-folders'), split === 'train' ? 'train' : 'val'), {
        size: Math.round((imageSize * 256) / 224),
      }),
  },
  {
    name: 'synthetic',
    description: 'seeded random pixels and labels (64 images; --dry-run)',
    open: async ({ split, imageSize, channels, seed }) => syntheticDataset(imageSize, channels, split === 'train' ? seed : seed + 1),
  },
];

const registry = new Map<string, DatasetSpec>(BUILTIN.map((d) => [d.name, d]));

export function registerDataset(spec: DatasetSpec): void {
  if (registry.has(spec.name)) throw new Error(`dataset '${spec.name}' is already registered`);
  registry.set(spec.name, spec);
}

export function datasetNames(): string[] {
  return [...registry.keys()];
}

export function isDatasetName(name: string): boolean {
  return registry.has(name);
}

export function getDatasetSpec(name: string): DatasetSpec {
  const spec = registry.get(name);
  if (!spec) throw new Error(`unknown dataset '${name}'; registered: ${datasetNames().join(', ')}`);
  return spec;
}
