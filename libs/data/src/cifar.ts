// CIFAR-10 from its binary batches (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"):
// each record is 1 label byte then 3072 pixel bytes (1024 R, 1024 G, 1024 B, rows of 32), 10,000 per file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArrayDataset, CIFAR10_NORM } from './dataset';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR10_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

export interface Cifar10Options {
  /** Records each file must hold; the official files hold 10,000 (small generated fixtures use fewer). */
  recordsPerFile?: number;
}

/**
 * Loads a CIFAR-10 split as 32×32×3 uint8 HWC images. `dir` is the folder holding the .bin files, or its parent
 * holding `cifar-10-batches-bin/` (the layout the official tarball unpacks to).
 */
export function loadCifar10(dir: string, split: 'train' | 'test', options: Cifar10Options = {}): ArrayDataset {
  const names = CIFAR10_FILES[split];
  if (!names) throw new Error(`unknown CIFAR-10 split '${split}' (use 'train' or 'test')`);
  if (!existsSync(dir)) {
    throw new Error(`CIFAR-10 directory ${dir} does not exist; unpack cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html there`);
  }
  const base = existsSync(join(dir, names[0])) ? dir : join(dir, 'cifar-10-batches-bin');
  const recordsPerFile = options.recordsPerFile ?? 10000;
  const files = names.map((name) => {
    const path = join(base, name);
    if (!existsSync(path)) throw new Error(`${path} is missing (CIFAR-10 ${split} needs ${names.join(', ')} in ${dir})`);
    const bytes = readFileSync(path);
    if (bytes.length % RECORD !== 0) {
      throw new Error(`${path}: wrong length ${bytes.length} bytes, not a whole number of ${RECORD}-byte records (truncated or not a CIFAR-10 binary batch)`);
    }
    if (bytes.length / RECORD !== recordsPerFile) {
      throw new Error(`${path}: ${bytes.length / RECORD} records, expected ${recordsPerFile} (${recordsPerFile * RECORD} bytes); the file is truncated or from another dataset`);
    }
    return { path, bytes };
  });
  const n = files.length * recordsPerFile;
  const images = new Uint8Array(n * RECORD - n);
  const labels = new Int32Array(n);
  let k = 0;
  for (const { path, bytes } of files) {
    for (let r = 0; r < recordsPerFile; r++, k++) {
      const offset = r * RECORD;
      const label = bytes[offset];
      if (label >= CIFAR10_CLASSES.length) throw new Error(`${path}: label ${label} in record ${r} is outside 0..9 (corrupt file, or CIFAR-100)`);
      labels[k] = label;
      // Planar CHW → interleaved HWC.
      const out = k * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = bytes[offset + 1 + p];
        images[out + 3 * p + 1] = bytes[offset + 1 + PLANE + p];
        images[out + 3 * p + 2] = bytes[offset + 1 + 2 * PLANE + p];
      }
    }
  }
  return new ArrayDataset(`cifar10/${split}`, images, labels, SIDE, SIDE, 3, [...CIFAR10_CLASSES], CIFAR10_NORM);
}
