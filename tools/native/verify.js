// Checks that a natively built tfjs-node (or -gpu) works: the 'tensorflow' backend is selected, and a conv2d +
// batch-norm-like forward pass and its gradients match the pure-JS cpu backend within float32 tolerance.
// Usage: node tools/native/verify.js [@tensorflow/tfjs-node | @tensorflow/tfjs-node-gpu]
// Exit code 0 when everything matches, 1 otherwise (with the reason).
/* global require, process, console */
'use strict';

const pkg = process.argv[2] || '@tensorflow/tfjs-node';

function fail(msg) {
  console.error(`verify-native: FAILED: ${msg}`);
  process.exit(1);
}

let tf;
try {
  tf = require(pkg);
} catch (err) {
  fail(`require('${pkg}') threw: ${String(err.message).split('\n')[0]}`);
}

/** Deterministic inputs (a fixed LCG) so both backends see identical numbers. */
function values(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** Loss = mean(relu(normalise(conv2d(x, w) + b))^2) and its gradients w.r.t. x, w, b. */
function lossAndGrads() {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(4 * 9 * 9 * 3, 1), [4, 9, 9, 3]);
    const w = tf.tensor4d(values(3 * 3 * 3 * 8, 2), [3, 3, 3, 8]);
    const b = tf.tensor1d(values(8, 3));
    const f = (xx, ww, bb) => {
      const y = tf.add(tf.conv2d(xx, ww, [2, 2], 'same'), bb);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      const z = tf.relu(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))));
      return tf.mean(tf.square(z));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, w, b]);
    return [value, ...grads].map((t) => Array.from(t.dataSync()));
  });
}

function maxRelErr(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(b[i]));
    if (!(err <= worst)) worst = err; // NaN propagates as a failure
  }
  return worst;
}

async function main() {
  const ok = await tf.setBackend('tensorflow');
  if (!ok || tf.getBackend() !== 'tensorflow') fail(`tf.getBackend() is '${tf.getBackend()}', not 'tensorflow'`);
  const native = lossAndGrads();
  await tf.setBackend('cpu');
  const reference = lossAndGrads();
  await tf.setBackend('tensorflow');
  const names = ['loss', 'dL/dx', 'dL/dw', 'dL/db'];
  const errs = names.map((_, i) => maxRelErr(native[i], reference[i]));
  const report = names.map((n, i) => `${n} ${errs[i].toExponential(1)}`).join(', ');
  if (errs.some((e) => !(e < 1e-3))) fail(`native and cpu results differ (max relative error: ${report})`);
  const version = tf.version['tfjs-node'] || tf.version['tfjs-node-gpu'] || '?';
  // The binding reports the libtensorflow it was linked against through the backend object.
  const backend = tf.backend();
  const tfVersion = backend.binding && backend.binding.TF_Version ? backend.binding.TF_Version : 'unknown';
  console.log(
    `verify-native: OK: ${pkg}@${version} on the 'tensorflow' backend (libtensorflow ${tfVersion}); ` +
      `conv2d/moments/relu loss and gradients match cpu (max relative error: ${report})`,
  );
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
