// The probe's classifier: one Linear layer, weight ~ N(0, 0.01²) and bias 0 (spec §8), as a `Network`.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import type { Mode, Network } from '@unigrad/models';

export interface LinearHeadOptions {
  /** Std of the weight initialisation (paper 0.01). */
  initStd?: number;
  /** Seed (or generator) of the weight initialisation. */
  rng?: Rng | number;
  name?: string;
}

/** y = x·W + b with W [inputDim, numClasses]; inputs of rank > 2 are flattened per row. Params `weight`, `bias`. */
export class LinearHead implements Network {
  readonly name: string;
  readonly params: Map<string, tf.Variable>;
  readonly buffers = new Map<string, tf.Variable>();
  readonly outputDim: number;

  constructor(
    readonly inputDim: number,
    numClasses: number,
    options: LinearHeadOptions = {},
  ) {
    if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`LinearHead inputDim must be a positive integer, got ${inputDim}`);
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`LinearHead numClasses must be a positive integer, got ${numClasses}`);
    this.name = options.name ?? 'linear';
    this.outputDim = numClasses;
    const std = options.initStd ?? 0.01;
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    const w = new Float32Array(inputDim * numClasses);
    for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
    this.params = new Map([
      ['weight', ownedVariable(tf.tensor2d(w, [inputDim, numClasses]))],
      ['bias', ownedVariable(tf.zeros([numClasses]))],
    ]);
  }

  apply(x: tf.Tensor, _mode: Mode): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      if (flat.shape[1] !== this.inputDim) throw new Error(`${this.name}: expected ${this.inputDim} input features, got [${x.shape}]`);
      return tf.add(tf.matMul(flat, this.params.get('weight') as tf.Variable), this.params.get('bias') as tf.Variable) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** A trainable variable from a temporary tensor, which is then released (tf.variable keeps its own reference). */
function ownedVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, true);
  init.dispose();
  return v;
}
