// Small hand-checkable networks for this library's tests (not exported from index.ts).
import * as tf from '@tensorflow/tfjs';
import type { Mode, Network } from '@unigrad/models';

/**
 * out = flatten(x)·W − μ, where μ is the batch mean in 'train' mode (and the running mean is updated, like BN)
 * and the running mean in 'eval' mode. Records the modes it was called with.
 */
export class TinyTrunk implements Network {
  readonly name = 'tiny';
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;
  readonly modes: Mode[] = [];

  constructor(
    readonly inputDim: number,
    readonly outputDim: number,
    weight: number[],
    runningMean: number[] = new Array(outputDim).fill(0),
  ) {
    const w = tf.tensor2d(weight, [inputDim, outputDim]);
    const rm = tf.tensor1d(runningMean);
    this.params = new Map([['fc.weight', tf.variable(w, true)]]);
    this.buffers = new Map([['bn.running_mean', tf.variable(rm, false)]]);
    tf.dispose([w, rm]);
  }

  apply(x: tf.Tensor, mode: Mode): tf.Tensor2D {
    this.modes.push(mode);
    return tf.tidy(() => {
      const h = tf.matMul(tf.reshape(x, [x.shape[0], this.inputDim]) as tf.Tensor2D, this.params.get('fc.weight') as tf.Variable);
      const rm = this.buffers.get('bn.running_mean') as tf.Variable;
      if (mode === 'eval') return tf.sub(h, rm);
      const mean = tf.mean(h, 0);
      rm.assign(tf.add(tf.mul(rm, 0.9), tf.mul(mean, 0.1)));
      return tf.sub(h, mean);
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

/** Deterministic pseudo-random numbers in [-1, 1) (a tiny LCG; no shared RNG state between tests). */
export function noise(seed: number, n: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  });
}

/** `perClass` points around each of the given centres, ±spread noise per coordinate; labels = centre index. */
export function clusters(centres: number[][], perClass: number, spread: number, seed: number): { features: Float32Array; labels: Int32Array; count: number; dim: number } {
  const dim = centres[0].length;
  const count = centres.length * perClass;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  const jitter = noise(seed, count * dim);
  for (let i = 0; i < count; i++) {
    const c = i % centres.length;
    labels[i] = c;
    for (let d = 0; d < dim; d++) features[i * dim + d] = centres[c][d] + spread * jitter[i * dim + d];
  }
  return { features, labels, count, dim };
}
