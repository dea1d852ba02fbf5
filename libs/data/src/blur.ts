// Gaussian blur with a different σ per sample, as two separable depthwise convolutions over the whole batch.
import * as tf from '@tensorflow/tfjs';

/**
 * Kernel radius for a largest σ: ceil(3σ) (the Gaussian beyond 3σ carries < 0.3% of the weight), capped at
 * side − 1 so the mirror padding fits in small images.
 */
export function blurRadius(maxSigma: number, side: number): number {
  return Math.max(1, Math.min(Math.ceil(3 * maxSigma), side - 1));
}

/** Normalised 1-D Gaussian weights at offsets −radius..radius. */
export function gaussianKernel1d(sigma: number, radius: number): Float32Array {
  if (!(sigma > 0)) throw new Error(`blur sigma must be > 0, got ${sigma}`);
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Blurs sample i with σ = sigmas[i]. Samples are moved into the channel axis ([1, H, W, N·C]) so one depthwise
 * convolution applies each sample's own kernel; edges are mirror-padded ('symmetric', close to PIL's edge clamp).
 */
export function gaussianBlur(x: tf.Tensor4D, sigmas: Float32Array, radius: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (sigmas.length !== n) throw new Error(`gaussianBlur: ${sigmas.length} sigmas for ${n} images`);
  if (radius > Math.min(h, w) - 1 || radius < 1) throw new Error(`gaussianBlur: radius ${radius} does not fit ${h}x${w} images`);
  const size = 2 * radius + 1;
  // Filter layout [size, N·C]: column (i·C + ch) holds sample i's kernel.
  const weights = new Float32Array(size * n * c);
  for (let i = 0; i < n; i++) {
    const k = gaussianKernel1d(sigmas[i], radius);
    for (let t = 0; t < size; t++) for (let ch = 0; ch < c; ch++) weights[t * n * c + i * c + ch] = k[t];
  }
  return tf.tidy(() => {
    const stacked = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]) as tf.Tensor4D;
    const vertical = tf.tensor4d(weights, [size, 1, n * c, 1]);
    const horizontal = tf.tensor4d(weights, [1, size, n * c, 1]);
    const padRows = tf.mirrorPad(stacked, [[0, 0], [radius, radius], [0, 0], [0, 0]], 'symmetric');
    const blurredRows = tf.depthwiseConv2d(padRows, vertical, 1, 'valid');
    const padCols = tf.mirrorPad(blurredRows, [[0, 0], [0, 0], [radius, radius], [0, 0]], 'symmetric');
    const blurred = tf.depthwiseConv2d(padCols, horizontal, 1, 'valid');
    return tf.transpose(tf.reshape(blurred, [h, w, n, c]), [2, 0, 1, 3]) as tf.Tensor4D;
  });
}
