// `npm run bench:data [-- --json] [--batches N] [--jpeg-batch N] [--jpeg-images N] [--size N]`
// Throughput of the data pipeline: images/s read into tensors, images/s through twoViews (each image gives two
// augmented views), and both together, for Fashion-MNIST (batch 256, 28 px) and a generated JPEG folder
// (ImageNet-like 500×375 JPEGs, decoded at 256 px, views at 224 px). Compare with the training step's images/s
// from `npm run bench:train`: data only limits training when its end-to-end images/s is the smaller one.
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng, initBackend } from '@unigrad/core';
import { exitWithError, intFlag, parseCli } from '@unigrad/configs';
import { ImageFolder, batches, disposeBatch, findFashionMnistDir, loadFashionMnist, moco2Augment, twoViews, type Dataset } from '@unigrad/data';

interface Args {
  json: boolean;
  batches: number;
  jpegBatch: number;
  jpegImages: number;
  size: number;
}

function parseArgs(argv: string[]): Args {
  const { flags } = parseCli(argv, {
    usage: 'npm run bench:data -- [options]',
    summary: 'Throughput of the data pipeline (read, two views, both) on Fashion-MNIST and a generated JPEG folder.',
    flags: {
      json: { type: 'boolean', description: 'one JSON object per measurement' },
      batches: { type: 'string', valueName: 'n', description: 'batches timed per measurement [20]' },
      'jpeg-batch': { type: 'string', valueName: 'n', description: 'JPEG folder batch size [32]' },
      'jpeg-images': { type: 'string', valueName: 'n', description: 'generated JPEG images [256]' },
      size: { type: 'string', valueName: 'px', description: 'JPEG view size [224]' },
    },
    exitCodes: { 1: 'runtime error', 2: 'bad usage' },
  });
  return { json: Boolean(flags.json), batches: intFlag(flags, 'batches', 20), jpegBatch: intFlag(flags, 'jpeg-batch', 32), jpegImages: intFlag(flags, 'jpeg-images', 256), size: intFlag(flags, 'size', 224) };
}

interface Result {
  bench: 'data';
  dataset: string;
  backend: string;
  batchSize: number;
  batches: number;
  viewSize: number;
  /** Images per second read from the dataset into float tensors. */
  loadImagesPerSec: number;
  /** Images per second through twoViews (2 augmented views each), on already-loaded batches. */
  augmentImagesPerSec: number;
  /** Images per second for both, as a training loop would consume them. */
  endToEndImagesPerSec: number;
}

async function measure(ds: Dataset, label: string, batchSize: number, count: number, viewSize: number, backend: string): Promise<Result> {
  const config = moco2Augment(viewSize, ds.channels, ds);
  const rng = new Rng(0);
  const options = { batchSize, seed: 0, dropLast: true };
  const epochBatches = Math.floor(ds.n / batchSize);
  if (epochBatches < 1) throw new Error(`${ds.name}: ${ds.n} images are fewer than one batch of ${batchSize}`);

  // Warm-up: kernels, wasm compilation, sharp's thread pool.
  for await (const b of batches(ds, options)) {
    const views = twoViews(b, config, rng);
    await Promise.all(views.map((v) => v.data()));
    views.forEach((v) => v.dispose());
    disposeBatch(b);
    break;
  }

  const run = async (augmentToo: boolean, keep?: ReturnType<typeof tf.clone>[]): Promise<number> => {
    let images = 0;
    const start = performance.now();
    for (let epoch = 1; images < count * batchSize; epoch++) {
      for await (const b of batches(ds, { ...options, epoch })) {
        await b.x.data();
        if (augmentToo) {
          const views = twoViews(b, config, rng);
          await Promise.all(views.map((v) => v.data()));
          views.forEach((v) => v.dispose());
        }
        if (keep && keep.length < count) keep.push(b.x);
        else b.x.dispose();
        b.y.dispose();
        images += b.indices.length;
        if (images >= count * batchSize) break;
      }
    }
    return images / ((performance.now() - start) / 1000);
  };

  const loaded: tf.Tensor[] = [];
  const loadRate = await run(false, loaded);
  const start = performance.now();
  for (const x of loaded) {
    const views = twoViews(x as tf.Tensor4D, config, rng);
    await Promise.all(views.map((v) => v.data()));
    views.forEach((v) => v.dispose());
  }
  const augmentRate = (loaded.length * batchSize) / ((performance.now() - start) / 1000);
  loaded.forEach((x) => x.dispose());
  const endToEnd = await run(true);
  return {
    bench: 'data',
    dataset: label,
    backend,
    batchSize,
    batches: count,
    viewSize,
    loadImagesPerSec: round(loadRate),
    augmentImagesPerSec: round(augmentRate),
    endToEndImagesPerSec: round(endToEnd),
  };
}

const round = (v: number) => Math.round(v * 10) / 10;

/** ImageNet-like JPEGs: 500×375 (the most common ImageNet size), smooth random colour fields with noise. */
async function makeJpegFolder(root: string, count: number, classes = 4): Promise<void> {
  const rng = new Rng(1);
  const w = 500;
  const h = 375;
  for (let c = 0; c < classes; c++) mkdirSync(join(root, `class${c}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.alloc(w * h * 3);
    const phase = [rng.next() * 6, rng.next() * 6, rng.next() * 6];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < 3; ch++) {
          const v = 128 + 90 * Math.sin(x / (17 + 5 * ch) + y / 23 + phase[ch]) + 30 * (rng.next() - 0.5);
          pixels[(y * w + x) * 3 + ch] = Math.max(0, Math.min(255, v));
        }
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(root, `class${i % classes}`, `img${String(i).padStart(5, '0')}.JPEG`));
  }
}

function print(result: Result, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(
    `${result.dataset.padEnd(28)} backend=${result.backend} batch=${result.batchSize} views ${result.viewSize}px: ` +
      `load ${result.loadImagesPerSec} img/s, twoViews ${result.augmentImagesPerSec} img/s (×2 views), end-to-end ${result.endToEndImagesPerSec} img/s`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const choice = await initBackend({ log: !args.json });
  if (!args.json) console.log('Images/s count source images; each gives two augmented views. Training-step images/s: `npm run bench:train`.');

  const fashion = loadFashionMnist('train', findFashionMnistDir());
  print(await measure(fashion, 'fashion-mnist/train', 256, args.batches, 28, choice.name), args.json);

  const root = mkdtempSync(join(tmpdir(), 'unigrad-bench-jpeg-'));
  try {
    await makeJpegFolder(root, args.jpegImages);
    const folder = new ImageFolder(root, { size: Math.round((args.size * 256) / 224) });
    const count = Math.min(args.batches, Math.floor(folder.n / args.jpegBatch));
    print(await measure(folder, `jpeg-folder 500x375 @${folder.height}px`, args.jpegBatch, count, args.size, choice.name), args.json);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch(exitWithError);
