// Acceptance check (not a test): linear probes on raw Fashion-MNIST pixels (flattened, /255: what pixelTrunk +
// extractFeatures give), where a linear model is known to reach ≈ 84–85 % top-1.
//   logistic (default) — fitLogisticProbe: standardised features, L2 chosen on a validation split of the training
//                        set, L-BFGS to convergence, test evaluated once;
//   lars               — trainLinearProbeOnFeatures, the LARS head of spec §8 (best epoch chosen on test!);
//                        add --standardize to standardise its features first.
// Usage (from the repo root; the native backend makes the logistic probe take a few minutes instead of tens):
//   UNIGRAD_BACKEND=node npx ts-node -r tsconfig-paths/register --transpile-only libs/eval/scripts/probe-raw-pixels.ts \
//     [--probe logistic|lars|knn] [--grid 0,1e-4,1e-3] [--max-iter 1000] [--grad-tol 1e-4] [--subset N] [--epochs 30] [--batch 256] [--standardize] [--random-relu 64]
// --subset N keeps the first N training images (a quicker look; the number is then not comparable).
// --random-relu D replaces the pixels by D features relu(x·R), R ~ N(0, 1/784) seeded (a stand-in for a narrow
// encoder's features, to time the probe at encoder width, e.g. D = 64).
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@unigrad/core';
import { loadFashionMnist } from '@unigrad/data';
import { DEFAULT_L2_GRID, FeatureSet, fitLogisticProbe, knnAccuracy, trainLinearProbeOnFeatures } from '../src';

function pixelFeatures(split: 'train' | 'test', limit?: number): FeatureSet {
  const data = loadFashionMnist(split);
  const count = Math.min(limit ?? data.n, data.n);
  const dim = data.height * data.width * data.channels;
  const features = new Float32Array(count * dim);
  for (let i = 0; i < features.length; i++) features[i] = data.images[i] / 255;
  return { features, labels: data.labels.slice(0, count), count, dim };
}

/** x ↦ relu(x·R) with R [dim, width] ~ N(0, 1/dim), seeded. */
function randomRelu(dim: number, width: number): { project: (set: FeatureSet) => FeatureSet; dispose: () => void } {
  const rng = new Rng(1234);
  const r = tf.tensor2d(Float32Array.from({ length: dim * width }, () => rng.normal() / Math.sqrt(dim)), [dim, width]);
  const project = (set: FeatureSet): FeatureSet => {
    const out = tf.tidy(() => tf.relu(tf.matMul(tf.tensor2d(set.features, [set.count, set.dim]), r)));
    const features = out.dataSync() as Float32Array;
    out.dispose();
    return { features, labels: set.labels, count: set.count, dim: width };
  };
  return { project, dispose: () => r.dispose() };
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      probe: { type: 'string', default: 'logistic' },
      grid: { type: 'string' },
      'max-iter': { type: 'string', default: '1000' },
      'grad-tol': { type: 'string', default: '1e-4' },
      subset: { type: 'string' },
      epochs: { type: 'string', default: '30' },
      batch: { type: 'string', default: '256' },
      standardize: { type: 'boolean', default: false },
      'random-relu': { type: 'string' },
    },
  });
  const backend = await initBackend({ log: true });
  let train = pixelFeatures('train', values.subset ? Number(values.subset) : undefined);
  let test = pixelFeatures('test');
  const what = values['random-relu'] ? `random-ReLU(${values['random-relu']}) features of the pixels` : 'raw pixels';
  if (values['random-relu']) {
    const { project, dispose } = randomRelu(train.dim, Number(values['random-relu']));
    train = project(train);
    test = project(test);
    dispose();
  }
  console.log(`backend ${backend.name}; features: train ${train.count}×${train.dim}, test ${test.count}×${test.dim}`);
  const t0 = Date.now();
  if (values.probe === 'logistic') {
    const l2Grid = values.grid ? values.grid.split(',').map(Number) : DEFAULT_L2_GRID;
    const r = fitLogisticProbe(train, test, {
      numClasses: 10,
      l2Grid,
      maxIterations: Number(values['max-iter']),
      gradTol: Number(values['grad-tol']),
      onFit: (e) =>
        console.log(
          `[${e.phase}] l2 ${e.l2}: ${e.iterations} it, loss ${e.trainLoss.toFixed(5)}, |grad|∞ ${e.gradNorm.toExponential(2)}, ` +
            `${e.stopReason}${e.validation ? `, val top-1 ${pct(e.validation.top1)}` : ''} [${e.seconds.toFixed(1)} s]`,
        ),
    });
    console.log(
      `logistic probe, ${what}: test top-1 ${pct(r.test.top1)}, top-5 ${pct(r.test.top5)}; l2 ${r.l2} ` +
        `(val top-1 ${r.validation ? pct(r.validation.top1) : 'n/a'}); refit ${r.iterations} it, loss ${r.trainLoss.toFixed(5)}, ` +
        `converged ${r.converged} (${r.stopReason}) [${r.seconds.toFixed(1)} s total]`,
    );
  } else if (values.probe === 'lars') {
    const epochs = Number(values.epochs);
    const batchSize = Number(values.batch);
    const result = await trainLinearProbeOnFeatures(train, test, {
      numClasses: 10,
      epochs,
      batchSize,
      evalEvery: 10,
      seed: 0,
      standardize: values.standardize,
      onEval: (e) => console.log(`epoch ${e.epoch}: top-1 ${pct(e.top1)}  top-5 ${pct(e.top5)}`),
    });
    console.log(
      `LARS probe${values.standardize ? ' (standardised)' : ''}, ${what}, ${epochs} epochs, batch ${batchSize}: best top-1 ` +
        `${pct(result.best.top1)} (epoch ${result.best.epoch}, chosen on test), final ${pct(result.final.top1)} [${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
    console.log(`train loss per epoch: ${result.trainLoss.map((l) => l.toFixed(4)).join(' ')}`);
  } else if (values.probe === 'knn') {
    const knn = knnAccuracy(train, test, { numClasses: 10, k: 200, temperature: 0.1 });
    console.log(`kNN (k=200, T=0.1) on ${what}: top-1 ${pct(knn.top1)}, top-5 ${pct(knn.top5)} [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
  } else {
    throw new Error(`--probe must be logistic, lars or knn, got ${values.probe}`);
  }
  console.log(`tensors live at the end: ${tf.memory().numTensors}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
