// Acceptance check (not a test): the fast linear probe on raw Fashion-MNIST pixels (flattened, /255) should land
// in the known range of a linear model, ≈ 80–85 % top-1. Reads the IDX files directly so it does not depend on
// the data lib. Usage (from the repo root):
//   npx ts-node -r tsconfig-paths/register --transpile-only libs/eval/scripts/probe-raw-pixels.ts [epochs] [batch]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { LabeledBatch, extractFeatures, knnAccuracy, pixelTrunk, trainLinearProbeOnFeatures } from '../src';

const DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

function readIdx(file: string): { data: Uint8Array; dims: number[] } {
  const buf = gunzipSync(readFileSync(join(DIR, file)));
  const rank = buf[3];
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank, dims.reduce((a, b) => a * b, 1)), dims };
}

function* pixelBatches(images: Uint8Array, labels: Uint8Array, batchSize: number): Generator<LabeledBatch> {
  const n = labels.length;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const x = new Float32Array(size * 784);
    for (let i = 0; i < x.length; i++) x[i] = images[start * 784 + i] / 255;
    yield { x: tf.tensor4d(x, [size, 28, 28, 1]), y: Int32Array.from(labels.subarray(start, start + size)) };
  }
}

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 30);
  const batchSize = Number(process.argv[3] ?? 256);
  await initBackend({ log: true });
  const trunk = pixelTrunk([28, 28, 1]);
  const load = async (prefix: string) => {
    const images = readIdx(`${prefix}-images-idx3-ubyte.gz`).data;
    const labels = readIdx(`${prefix}-labels-idx1-ubyte.gz`).data;
    return extractFeatures(trunk, pixelBatches(images, labels, 1000));
  };
  const train = await load('train');
  const test = await load('t10k');
  console.log(`features: train ${train.count}×${train.dim}, test ${test.count}×${test.dim}; tensors live ${tf.memory().numTensors}`);
  const t0 = Date.now();
  const result = await trainLinearProbeOnFeatures(train, test, {
    numClasses: 10,
    epochs,
    batchSize,
    evalEvery: 10,
    seed: 0,
    onEval: (r) => console.log(`epoch ${r.epoch}: top-1 ${(100 * r.top1).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%`),
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(`fast probe, raw pixels, ${epochs} epochs, batch ${batchSize}: best top-1 ${(100 * result.best.top1).toFixed(2)}% (epoch ${result.best.epoch}), final top-1 ${(100 * result.final.top1).toFixed(2)}%, top-5 ${(100 * result.final.top5).toFixed(2)}% [${secs.toFixed(1)} s]`);
  console.log(`train loss per epoch: ${result.trainLoss.map((l) => l.toFixed(4)).join(' ')}`);
  const t1 = Date.now();
  const knn = knnAccuracy(train, test, { numClasses: 10, k: 200, temperature: 0.1 });
  console.log(`kNN (k=200, T=0.1) on raw pixels: top-1 ${(100 * knn.top1).toFixed(2)}%, top-5 ${(100 * knn.top5).toFixed(2)}% [${((Date.now() - t1) / 1000).toFixed(1)} s]`);
  console.log(`tensors live at the end: ${tf.memory().numTensors}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
