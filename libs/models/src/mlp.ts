// Projector and predictor MLPs. Names follow the torch nn.Sequential indices of the official code, so
// checkpoint keys read like theirs: projector = Sequential(Linear, BN1d, ReLU, Linear, BN1d, ReLU, Linear)
// gives 0.weight, 1.weight/bias/running_*, 3.weight, 4.*, 6.weight, 6.bias.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import { batchNorm, createBatchNorm, createLinear, linear, relu, VariableStore, type BatchNormWeights, type LinearWeights } from './layers';
import type { Mode, Network } from './network';

export interface MlpDims {
  inputDim: number;
  hiddenDim: number;
  outputDim: number;
}
/** Projector dims (paper: 2048/2048/2048). */
export type ProjectorConfig = MlpDims;
/** Predictor dims (BYOL: 256→4096→256; SimSiam: 2048→512→2048). */
export type PredictorConfig = MlpDims;

/** Linear(no bias) → BN1d → ReLU hidden layers, then Linear with bias and nothing after it. */
export class MlpNetwork implements Network {
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;
  readonly outputDim: number;
  readonly inputDim: number;
  private readonly hidden: { lin: LinearWeights; bn: BatchNormWeights }[];
  private readonly head: LinearWeights;

  constructor(
    readonly name: string,
    store: VariableStore,
    dims: readonly number[],
  ) {
    if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`${name}: dimensions must be positive integers, got [${dims}]`);
    }
    this.params = store.params;
    this.buffers = store.buffers;
    this.inputDim = dims[0];
    this.outputDim = dims[dims.length - 1];
    this.hidden = [];
    for (let i = 0; i < dims.length - 2; i++) {
      this.hidden.push({
        lin: createLinear(store, `${3 * i}`, dims[i], dims[i + 1], { bias: false }),
        bn: createBatchNorm(store, `${3 * i + 1}`, dims[i + 1]),
      });
    }
    const last = dims.length - 2;
    this.head = createLinear(store, `${3 * last}`, dims[last], dims[last + 1], { bias: true });
  }

  apply(x: tf.Tensor, mode: Mode): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inputDim) throw new Error(`${this.name}: expected input [N, ${this.inputDim}], got [${x.shape}]`);
    return tf.tidy(() => {
      let h = x as tf.Tensor2D;
      for (const { lin, bn } of this.hidden) h = relu(batchNorm(linear(h, lin), bn, mode));
      return linear(h, this.head);
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

function checkDims(what: string, config: MlpDims): number[] {
  const dims = [config.inputDim, config.hiddenDim, config.outputDim];
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${what}: inputDim/hiddenDim/outputDim must be positive integers, got ${JSON.stringify(config)}`);
  }
  return dims;
}

/** The §7.1 projector: Linear(no bias) → BN1d → ReLU, twice, then Linear with bias (12,593,152 params at 2048³). */
export function createProjector(config: ProjectorConfig, rng: Rng): MlpNetwork {
  return buildProjector(config, VariableStore.fromRng(rng));
}

export function buildProjector(config: ProjectorConfig, store: VariableStore): MlpNetwork {
  const [i, h, o] = checkDims('projector', config);
  return new MlpNetwork('projector', store, [i, h, h, o]);
}

/** BYOL/SimSiam predictor: Linear(no bias) → BN1d → ReLU → Linear with bias. */
export function createPredictor(config: PredictorConfig, rng: Rng): MlpNetwork {
  return buildPredictor(config, VariableStore.fromRng(rng));
}

export function buildPredictor(config: PredictorConfig, store: VariableStore): MlpNetwork {
  return new MlpNetwork('predictor', store, checkDims('predictor', config));
}
