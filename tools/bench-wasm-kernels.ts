// `npm run bench:kernels [-- --batch N] [--steps N] [--cpu-batch N] [--cpu-steps N] [--backends wasm,cpu] [--profile]`
// Images/s of one conv-BN-ReLU training step (forward, tf.variableGrads, SGD update) of a narrow ResNet-18
// (widths 16/32/64/128, BasicBlocks [2,2,2,2], 3x3 stem, 28x28x1 input, 10-way softmax) on the wasm backend with this
// project's training kernels, and on the pure-JS cpu backend for reference (at a smaller batch: it needs minutes per
// 256 images). Wasm threads follow UNIGRAD_WASM_THREADS (default: all cores). --profile prints the slowest kernels
// of one wasm step. The full method benchmark is `npm run bench:train`.
import * as tf from '@tensorflow/tfjs';
import { initBackend, wasmThreadPlan } from '@unigrad/core';
import { ConfigError, exitWithError, intFlag, parseCli } from '@unigrad/configs';

interface Args {
  batch: number;
  steps: number;
  cpuBatch: number;
  cpuSteps: number;
  backends: ('wasm' | 'cpu')[];
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const { flags } = parseCli(argv, {
    usage: 'npm run bench:kernels -- [options]',
    summary: "Images/s of one narrow ResNet-18 conv-BN-ReLU training step on wasm (this project's kernels) and on cpu for reference.",
    flags: {
      batch: { type: 'string', valueName: 'n', description: 'wasm batch [256]' },
      steps: { type: 'string', valueName: 'n', description: 'wasm timed steps [5]' },
      'cpu-batch': { type: 'string', valueName: 'n', description: 'cpu batch [8]' },
      'cpu-steps': { type: 'string', valueName: 'n', description: 'cpu timed steps [1]' },
      backends: { type: 'string', valueName: 'list', description: 'comma list of wasm,cpu [wasm,cpu]' },
      profile: { type: 'boolean', description: 'print the slowest kernels of one wasm step' },
    },
    exitCodes: { 1: 'runtime error', 2: 'bad usage' },
  });
  const backends = (typeof flags.backends === 'string' ? flags.backends : 'wasm,cpu').split(',').filter(Boolean);
  if (!backends.length || backends.some((b) => b !== 'wasm' && b !== 'cpu')) throw new ConfigError(`--backends takes a comma list of wasm,cpu; got '${String(flags.backends)}'`);
  return {
    batch: intFlag(flags, 'batch', 256),
    steps: intFlag(flags, 'steps', 5),
    cpuBatch: intFlag(flags, 'cpu-batch', 8),
    cpuSteps: intFlag(flags, 'cpu-steps', 1),
    backends: backends as Args['backends'],
    profile: Boolean(flags.profile),
  };
}

type Params = Map<string, tf.Variable>;

function convWeight(params: Params, name: string, k: number, cin: number, cout: number): void {
  const std = Math.sqrt(2 / (k * k * cin));
  params.set(`${name}/w`, tf.variable(tf.randomNormal([k, k, cin, cout], 0, std, 'float32', params.size + 1), true, `${name}/w`));
  params.set(`${name}/gamma`, tf.variable(tf.ones([cout]), true, `${name}/gamma`));
  params.set(`${name}/beta`, tf.variable(tf.zeros([cout]), true, `${name}/beta`));
}

/** Conv (no bias) -> training-mode BatchNorm (batch statistics) -> optional ReLU. */
function convBn(params: Params, name: string, x: tf.Tensor4D, stride: number, relu: boolean): tf.Tensor4D {
  const w = params.get(`${name}/w`) as tf.Variable<tf.Rank.R4>;
  const y = tf.conv2d(x, w, stride, 'same');
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  const bn: tf.Tensor4D = tf.batchNorm(y, mean, variance, params.get(`${name}/beta`) as tf.Tensor1D, params.get(`${name}/gamma`) as tf.Tensor1D, 1e-5) as tf.Tensor4D;
  return relu ? (tf.relu(bn) as tf.Tensor4D) : bn;
}

const WIDTHS = [16, 32, 64, 128];

function buildResNet18(): Params {
  const params: Params = new Map();
  convWeight(params, 'stem', 3, 1, WIDTHS[0]);
  let cin = WIDTHS[0];
  WIDTHS.forEach((width, stage) => {
    for (let block = 0; block < 2; block++) {
      const name = `s${stage}b${block}`;
      convWeight(params, `${name}/c1`, 3, cin, width);
      convWeight(params, `${name}/c2`, 3, width, width);
      if (cin !== width) convWeight(params, `${name}/down`, 1, cin, width);
      cin = width;
    }
  });
  params.set('fc/w', tf.variable(tf.randomNormal([cin, 10], 0, 1 / Math.sqrt(cin), 'float32', 99), true, 'fc/w'));
  params.set('fc/b', tf.variable(tf.zeros([10]), true, 'fc/b'));
  return params;
}

function forward(params: Params, x: tf.Tensor4D): tf.Tensor2D {
  let h = convBn(params, 'stem', x, 1, true);
  WIDTHS.forEach((width, stage) => {
    for (let block = 0; block < 2; block++) {
      const name = `s${stage}b${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const shortcut = params.has(`${name}/down/w`) ? convBn(params, `${name}/down`, h, stride, false) : h;
      const y = convBn(params, `${name}/c2`, convBn(params, `${name}/c1`, h, stride, true), 1, false);
      h = tf.relu(tf.add(y, shortcut)) as tf.Tensor4D;
    }
  });
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  return tf.add(tf.matMul(pooled, params.get('fc/w') as tf.Tensor2D), params.get('fc/b') as tf.Tensor1D);
}

function trainStep(params: Params, optimizer: tf.Optimizer, x: tf.Tensor4D, labels: tf.Tensor2D): number {
  const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, forward(params, x)) as tf.Scalar, true, [...params.values()]);
  const value = cost?.dataSync()[0] ?? NaN;
  cost?.dispose();
  return value;
}

async function bench(backend: 'wasm' | 'cpu', batch: number, steps: number, profile: boolean): Promise<void> {
  const choice = await initBackend({ force: backend, log: false });
  const params = buildResNet18();
  const optimizer = tf.train.sgd(0.01);
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10) as tf.Tensor2D;
  const threads = backend === 'wasm' ? `, ${wasmThreadPlan()?.threads ?? 1} thread(s)` : '';
  const warm = trainStep(params, optimizer, x, labels); // first step: kernel set-up and XNNPACK operator creation
  const tensorsBefore = tf.memory().numTensors;
  const start = performance.now();
  let loss = warm;
  for (let i = 0; i < steps; i++) loss = trainStep(params, optimizer, x, labels);
  const seconds = (performance.now() - start) / 1000;
  const leaked = tf.memory().numTensors - tensorsBefore;
  console.log(
    `${choice.tfBackend}${threads}: batch ${batch}, ${steps} step(s): ${((batch * steps) / seconds).toFixed(1)} img/s ` +
      `(${((seconds / steps) * 1000).toFixed(0)} ms/step, loss ${loss.toFixed(3)}, tensors leaked/step ${leaked / steps})`,
  );
  if (profile) {
    const info = await tf.profile(() => {
      trainStep(params, optimizer, x, labels);
    });
    const byKernel = new Map<string, number>();
    for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
    console.log(`  slowest kernels of one ${choice.tfBackend} step (ms): ${top.map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(', ')}`);
  }
  tf.dispose([x, labels, ...params.values()]);
  optimizer.dispose();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const backend of args.backends) {
    if (backend === 'wasm') await bench('wasm', args.batch, args.steps, args.profile);
    else await bench('cpu', args.cpuBatch, args.cpuSteps, args.profile);
  }
}

main().catch(exitWithError);
