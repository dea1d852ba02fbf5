// Fashion-MNIST from its IDX files (gzip or plain), as Debian's `dataset-fashion-mnist` installs them.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ArrayDataset, FASHION_MNIST_NORM } from './dataset';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const FASHION_MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte', count: 60000 },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte', count: 10000 },
} as const;

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_SOURCE = 'https://github.com/zalandoresearch/fashion-mnist';

/** Where to look; the defaults are the process's environment and working directory, and the Debian path. */
export interface FashionMnistSearch {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  systemDir?: string;
}

/** Places searched, in order: $FASHION_MNIST_DIR, ./data/fashion-mnist, the Debian package's directory. */
export function fashionMnistCandidates(search: FashionMnistSearch = {}): string[] {
  const env = search.env ?? process.env;
  const cwd = search.cwd ?? process.cwd();
  const dirs: string[] = [];
  if (env.FASHION_MNIST_DIR) dirs.push(resolve(cwd, env.FASHION_MNIST_DIR));
  dirs.push(resolve(cwd, 'data/fashion-mnist'), search.systemDir ?? FASHION_MNIST_SYSTEM_DIR);
  return dirs;
}

/** Whether `dir` holds the four IDX files (each gzip or plain). */
export function hasFashionMnist(dir: string): boolean {
  return Object.values(FASHION_MNIST_FILES).every((f) => idxPath(dir, f.images) !== null && idxPath(dir, f.labels) !== null);
}

/** The first candidate directory holding Fashion-MNIST; throws naming every place looked at and the fix. */
export function findFashionMnistDir(search: FashionMnistSearch = {}): string {
  const candidates = fashionMnistCandidates(search);
  const found = candidates.find((d) => hasFashionMnist(d));
  if (found) return found;
  throw new Error(
    `Fashion-MNIST not found. Looked for ${FASHION_MNIST_FILES.train.images}(.gz) and the other three IDX files in: ` +
      `${candidates.join(', ')}. Run \`npm run data:setup\` (installs the Debian package dataset-fashion-mnist), ` +
      `or download the four .gz files from ${FASHION_MNIST_SOURCE} into data/fashion-mnist/ or $FASHION_MNIST_DIR.`,
  );
}

function idxPath(dir: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** An IDX array of unsigned bytes: its dimensions and data. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an IDX file of unsigned bytes (type code 0x08) with `expectedRank` dimensions, gunzipping when the
 * bytes start with the gzip magic. Every inconsistency is an error naming the file.
 */
export function readIdx(path: string, expectedRank: number): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as Error).message})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new Error(`${path}: corrupt or truncated gzip (${(err as Error).message}); re-download it`);
    }
  }
  if (bytes.length < 4) throw new Error(`${path}: ${bytes.length} bytes is too short for an IDX header`);
  const magic = bytes.readUInt32BE(0);
  const expectedMagic = 0x0800 | expectedRank;
  if (magic !== expectedMagic) {
    throw new Error(
      `${path}: wrong IDX magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expectedMagic.toString(16).padStart(8, '0')} ` +
        `(unsigned bytes, ${expectedRank} dimensions); the file is corrupt or not this kind of IDX file`,
    );
  }
  const headerLength = 4 + 4 * expectedRank;
  if (bytes.length < headerLength) throw new Error(`${path}: truncated IDX header (${bytes.length} bytes, need ${headerLength})`);
  const dims: number[] = [];
  for (let d = 0; d < expectedRank; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const expectedLength = headerLength + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expectedLength) {
    throw new Error(
      `${path}: wrong length ${bytes.length} bytes; the header's dimensions [${dims.join(', ')}] need ${expectedLength} ` +
        `(${bytes.length < expectedLength ? 'truncated' : 'trailing bytes'})`,
    );
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expectedLength - headerLength) };
}

/**
 * Loads one split of Fashion-MNIST as 28×28×1 uint8 images. `dir` defaults to findFashionMnistDir().
 * Checks the IDX headers, that image and label counts agree, the official count, and that labels are 0..9.
 */
export function loadFashionMnist(split: 'train' | 'test', dir: string = findFashionMnistDir()): ArrayDataset {
  const files = FASHION_MNIST_FILES[split];
  if (!files) throw new Error(`unknown Fashion-MNIST split '${split}' (use 'train' or 'test')`);
  if (!existsSync(dir)) throw new Error(`Fashion-MNIST directory ${dir} does not exist; run \`npm run data:setup\``);
  const imagesPath = idxPath(dir, files.images);
  const labelsPath = idxPath(dir, files.labels);
  for (const [p, base] of [
    [imagesPath, files.images],
    [labelsPath, files.labels],
  ] as const) {
    if (p === null) throw new Error(`${join(dir, base)}(.gz) is missing; run \`npm run data:setup\``);
  }
  const images = readIdx(imagesPath as string, 3);
  const labels = readIdx(labelsPath as string, 1);
  const [count, height, width] = images.dims;
  if (height !== 28 || width !== 28) throw new Error(`${imagesPath}: images are ${height}x${width}, expected 28x28`);
  if (labels.dims[0] !== count) throw new Error(`${labelsPath}: ${labels.dims[0]} labels for ${count} images in ${imagesPath}`);
  if (count !== files.count) throw new Error(`${imagesPath}: ${count} images, the official ${split} split has ${files.count}`);
  const labelArray = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const l = labels.data[i];
    if (l >= FASHION_MNIST_CLASSES.length) throw new Error(`${labelsPath}: label ${l} at index ${i} is outside 0..9`);
    labelArray[i] = l;
  }
  return new ArrayDataset(`fashion-mnist/${split}`, images.data, labelArray, 28, 28, 1, [...FASHION_MNIST_CLASSES], FASHION_MNIST_NORM);
}
