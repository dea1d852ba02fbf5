// Quick training-step throughput check for the native backend against the pure-JS cpu backend.
// Model: a narrow ResNet-18 (BasicBlocks [2,2,2,2], widths 16/32/64/128) on 28x28x1 inputs, 10-way softmax,
// SGD with momentum, built with tf.layers so BatchNorm and conv gradients go through the registered kernels.
// This is the model issue 9 quotes for PyTorch (~850 img/s on 2 cores); the full benchmark with the real
// pretraining step lives elsewhere (npm run bench:train).
//
// Usage: node tools/native/bench-step.js [--backend tensorflow|cpu] [--batch 256] [--steps 10] [--warmup 2]
/* global require, process, console */
'use strict';

const args = process.argv.slice(2);
function opt(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const backendName = opt('backend', 'tensorflow');
const batch = Number(opt('batch', '256'));
const steps = Number(opt('steps', '10'));
const warmup = Number(opt('warmup', '2'));

const tf = backendName === 'tensorflow' ? require('@tensorflow/tfjs-node') : require('@tensorflow/tfjs');

function convBn(x, filters, stride, relu) {
  let y = tf.layers.conv2d({ filters, kernelSize: 3, strides: stride, padding: 'same', useBias: false }).apply(x);
  y = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(y);
  return relu ? tf.layers.reLU().apply(y) : y;
}

function basicBlock(x, filters, stride) {
  const y = convBn(convBn(x, filters, stride, true), filters, 1, false);
  let shortcut = x;
  if (stride !== 1 || x.shape[3] !== filters) {
    shortcut = tf.layers.conv2d({ filters, kernelSize: 1, strides: stride, useBias: false }).apply(x);
    shortcut = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(shortcut);
  }
  return tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut]));
}

function narrowResNet18() {
  const input = tf.input({ shape: [28, 28, 1] });
  let x = convBn(input, 16, 1, true);
  [16, 32, 64, 128].forEach((w, stage) => {
    x = basicBlock(x, w, stage === 0 ? 1 : 2);
    x = basicBlock(x, w, 1);
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const out = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(x);
  return tf.model({ inputs: input, outputs: out });
}

async function main() {
  await tf.setBackend(backendName);
  const model = narrowResNet18();
  model.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: 'categoricalCrossentropy' });
  const xs = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10);
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(xs, ys);
  const t0 = process.hrtime.bigint();
  let loss = 0;
  for (let i = 0; i < steps; i++) loss = await model.trainOnBatch(xs, ys);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const imgPerS = (batch * steps) / seconds;
  console.log(
    JSON.stringify({
      model: 'narrow-resnet18-28x28x1',
      backend: tf.getBackend(),
      batch,
      steps,
      seconds: Number(seconds.toFixed(3)),
      img_per_s: Number(imgPerS.toFixed(1)),
      final_loss: Number(Number(loss).toFixed(4)),
      tensors: tf.memory().numTensors,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
