// Layers as plain functions over explicit, named variables (PyTorch naming and initialisation).
//
// Every layer has a `create*` that registers its variables in a VariableStore under torch-style names
// (`conv1.weight`, `bn1.running_mean`, `0.bias`, ...) and a pure forward function. Initial values are drawn
// on the JS side from the seeded Rng, so a seed gives bit-identical weights on every backend.
//
// Layouts follow TF.js, not PyTorch: conv weights are [kh, kw, in, out] (NHWC conv2d), linear weights are
// [in, out] (x·W without a transpose). Names and element counts match torchvision.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import type { Mode } from './network';

/** PyTorch BatchNorm defaults. */
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Where initial values come from: fresh draws from an Rng, or copies of another network's variables. */
type InitSource = { kind: 'rng'; rng: Rng } | { kind: 'copy'; params: Map<string, tf.Variable>; buffers: Map<string, tf.Variable> };

/**
 * Owns the variables of one network while it is built. `scope('layer1.0')` gives a view that prefixes names
 * and shares the same maps. A store built with `VariableStore.copying(net)` ignores the initialisers and copies
 * the values of `net`'s variables with the same names (into new, separate variables) — that is how EMA targets
 * start identical to the online network without drawing from the Rng again.
 */
export class VariableStore {
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;

  private constructor(
    private readonly source: InitSource,
    private readonly trainable: boolean,
    private readonly prefix: string,
    params: Map<string, tf.Variable>,
    buffers: Map<string, tf.Variable>,
  ) {
    this.params = params;
    this.buffers = buffers;
  }

  /** A store that initialises from `rng`. */
  static fromRng(rng: Rng): VariableStore {
    return new VariableStore({ kind: 'rng', rng }, true, '', new Map(), new Map());
  }

  /**
   * A store that copies values from a network with the same architecture. `trainable: false` marks the copies
   * as non-trainable (EMA targets are never trained, so tf.variableGrads without a varList skips them).
   */
  static copying(
    from: { params: Map<string, tf.Variable>; buffers: Map<string, tf.Variable> },
    trainable: boolean,
  ): VariableStore {
    return new VariableStore({ kind: 'copy', params: from.params, buffers: from.buffers }, trainable, '', new Map(), new Map());
  }

  scope(name: string): VariableStore {
    return new VariableStore(this.source, this.trainable, this.prefix + name + '.', this.params, this.buffers);
  }

  /** The Rng of a fresh store (throws for a copying store, where nothing may be drawn). */
  get rng(): Rng {
    if (this.source.kind !== 'rng') throw new Error('VariableStore: a copying store has no Rng');
    return this.source.rng;
  }

  /** Registers a trainable parameter; `init` fills a Float32Array of the shape's size (called only for fresh stores). */
  param(name: string, shape: number[], init: (values: Float32Array, rng: Rng) => void): tf.Variable {
    return this.add(this.params, 'params', name, shape, init, this.trainable);
  }

  /** Registers a non-trainable buffer (BatchNorm running statistics). */
  buffer(name: string, shape: number[], init: (values: Float32Array, rng: Rng) => void): tf.Variable {
    return this.add(this.buffers, 'buffers', name, shape, init, false);
  }

  private add(
    map: Map<string, tf.Variable>,
    kind: 'params' | 'buffers',
    name: string,
    shape: number[],
    init: (values: Float32Array, rng: Rng) => void,
    trainable: boolean,
  ): tf.Variable {
    const full = this.prefix + name;
    if (map.has(full)) throw new Error(`VariableStore: duplicate ${kind} name '${full}'`);
    let variable: tf.Variable;
    if (this.source.kind === 'rng') {
      const values = new Float32Array(product(shape));
      init(values, this.source.rng);
      const initial = tf.tensor(values, shape, 'float32');
      variable = tf.variable(initial, trainable);
      initial.dispose(); // the variable holds its own reference to the data

    } else {
      const src = this.source[kind].get(full);
      if (!src) throw new Error(`VariableStore: cannot copy '${full}': the source network has no such ${kind} entry`);
      if (!tf.util.arraysEqual(src.shape, shape)) {
        throw new Error(`VariableStore: cannot copy '${full}': source shape [${src.shape}] differs from [${shape}]`);
      }
      // The new variable starts on src's (immutable) storage; assign() swaps storage instead of writing in
      // place, so later updates to either variable never affect the other.
      variable = tf.variable(src, trainable);
    }
    map.set(full, variable);
    return variable;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Initialisers (all in place on Float32Array, drawing from the Rng in index order).

/** torchvision ResNet conv init: kaiming_normal_(mode='fan_out', nonlinearity='relu'): N(0, 2 / (out·kh·kw)). */
export function kaimingNormalFanOut(kernelSize: number, outChannels: number) {
  const std = Math.sqrt(2 / (outChannels * kernelSize * kernelSize));
  return (values: Float32Array, rng: Rng): void => {
    for (let i = 0; i < values.length; i++) values[i] = std * rng.normal();
  };
}

/** PyTorch nn.Linear default: kaiming_uniform_(a=√5) for the weight and U(±1/√fan_in) for the bias — both U(±1/√fan_in). */
export function uniformFanIn(fanIn: number) {
  const bound = 1 / Math.sqrt(fanIn);
  return (values: Float32Array, rng: Rng): void => {
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-bound, bound);
  };
}

export function constantInit(value: number) {
  return (values: Float32Array): void => {
    values.fill(value);
  };
}

// ---------------------------------------------------------------------------------------------------------
// Conv2d (no bias: every conv in these nets is followed by BatchNorm).

export interface Conv2dWeights {
  /** [kh, kw, in, out]. */
  readonly weight: tf.Variable;
  readonly stride: number;
  /** Symmetric zero padding, as PyTorch's `padding=`. */
  readonly pad: number;
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  /** Defaults to (kernelSize − 1) / 2 ("same" for odd kernels at stride 1), as torchvision's conv3x3/conv1x1. */
  pad?: number;
}

export function createConv2d(store: VariableStore, name: string, opts: Conv2dOptions): Conv2dWeights {
  const { inChannels, outChannels, kernelSize } = opts;
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? (kernelSize - 1) / 2;
  for (const [k, v] of Object.entries({ inChannels, outChannels, kernelSize, stride, pad })) {
    if (!Number.isInteger(v) || v < (k === 'pad' ? 0 : 1)) throw new Error(`conv2d '${name}': ${k} must be a positive integer, got ${v}`);
  }
  const weight = store.scope(name).param('weight', [kernelSize, kernelSize, inChannels, outChannels], kaimingNormalFanOut(kernelSize, outChannels));
  return { weight, stride, pad };
}

/**
 * NHWC convolution with PyTorch-style symmetric padding (TF's 'same' pads asymmetrically at stride 2).
 * Numeric padding is expressed as 'valid'/'same' or an explicit tf.pad, because the native TensorFlow backend
 * only accepts the two string modes.
 *
 * On the pure-JS `cpu` backend the filter gradient is computed here as kh·kw matrix products of shifted
 * input slices with dy, instead of by the backend's Conv2DBackpropFilter, which walks every element through
 * TensorBuffer.get: measured on 2 cores for x [8,14,14,32], 3x3 → 64 channels, 16.4 s for the stock kernel
 * against ~1 s this way. The input gradient stays the stock conv2dTranspose (~0.3 s there). Both paths give
 * the same gradients (checked in layers.test.ts); other backends keep their native kernels.
 */
export function conv2d(x: tf.Tensor4D, conv: Conv2dWeights): tf.Tensor4D {
  if (tf.getBackend() === 'cpu') return conv2dCpu(x, conv);
  const weight = conv.weight as tf.Tensor4D;
  const kernelSize = weight.shape[0];
  if (conv.pad === 0) return tf.conv2d(x, weight, conv.stride, 'valid');
  // At stride 1 an odd kernel with pad (k − 1)/2 is exactly 'same'.
  if (conv.stride === 1 && 2 * conv.pad === kernelSize - 1) return tf.conv2d(x, weight, 1, 'same');
  return tf.tidy(() => tf.conv2d(padSpatial(x, conv.pad, 0), weight, conv.stride, 'valid'));
}

function conv2dCpu(x: tf.Tensor4D, conv: Conv2dWeights): tf.Tensor4D {
  const { stride, pad } = conv;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xs, w]);
    return {
      value: tf.conv2d(xs, w, stride, pad), // the cpu backend takes numeric (symmetric) padding
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xSaved, wSaved] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        return [tf.conv2dTranspose(dy4, wSaved, xSaved.shape, stride, pad), conv2dFilterGrad(xSaved, dy4, wSaved.shape, stride, pad)];
      },
    };
  });
  return op(x, conv.weight) as tf.Tensor4D;
}

/** dL/dW[a, b, ci, co] = Σ_{n, i, j} xpad[n, a + s·i, b + s·j, ci] · dy[n, i, j, co], one matMul per (a, b). */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  stride: number,
  pad: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, cin, cout] = filterShape;
    const [n, ho, wo] = dy.shape;
    const rows = n * ho * wo;
    const xp = pad > 0 ? padSpatial(x, pad, 0) : x;
    const dyT = tf.transpose(tf.reshape(dy, [rows, cout])); // [cout, rows]
    const parts: tf.Tensor2D[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const patch = tf.stridedSlice(xp, [0, a, b, 0], [n, a + (ho - 1) * stride + 1, b + (wo - 1) * stride + 1, cin], [1, stride, stride, 1]);
        parts.push(tf.matMul(dyT, tf.reshape(patch, [rows, cin]))); // [cout, cin]
      }
    }
    return tf.reshape(tf.transpose(tf.stack(parts), [0, 2, 1]), [kh, kw, cin, cout]) as tf.Tensor4D;
  });
}

/** Symmetric zero padding of H and W of an NHWC tensor. */
export function padSpatial(x: tf.Tensor4D, pad: number, value: number): tf.Tensor4D {
  return tf.pad(x, [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ], value);
}

// ---------------------------------------------------------------------------------------------------------
// BatchNorm (2d on NHWC, 1d on [N, C]).

export interface BatchNormWeights {
  readonly channels: number;
  /** γ (torch `weight`). */
  readonly gamma: tf.Variable;
  /** β (torch `bias`). */
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly eps: number;
  readonly momentum: number;
}

export interface BatchNormOptions {
  /** γ starts at 0 instead of 1 (torchvision `zero_init_residual` for the last BN of a residual block). */
  zeroGamma?: boolean;
}

export function createBatchNorm(store: VariableStore, name: string, channels: number, opts: BatchNormOptions = {}): BatchNormWeights {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`batchNorm '${name}': channels must be a positive integer, got ${channels}`);
  const s = store.scope(name);
  return {
    channels,
    gamma: s.param('weight', [channels], constantInit(opts.zeroGamma ? 0 : 1)),
    beta: s.param('bias', [channels], constantInit(0)),
    runningMean: s.buffer('running_mean', [channels], constantInit(0)),
    runningVar: s.buffer('running_var', [channels], constantInit(1)),
    eps: BN_EPS,
    momentum: BN_MOMENTUM,
  };
}

/**
 * BatchNorm over all axes but the last (channels). 'train': normalise with the batch mean and *biased*
 * variance, and set running = (1 − momentum)·running + momentum·batch, with the *unbiased* variance for
 * running_var (PyTorch). 'eval': normalise with the running statistics; buffers untouched.
 *
 * Train mode is one custom-gradient op (batchNormTrain) with the closed-form backward instead of autodiff through
 * tf.moments + tf.batchNorm, which costs a dozen full-size elementwise passes (Fill, Mul, Sum, RealDiv, ...) per
 * layer. Same values up to float32 round-off (layers.test.ts compares both with autodiff of the plain formula).
 */
export function batchNorm<T extends tf.Tensor>(x: T, bn: BatchNormWeights, mode: Mode): T {
  const channels = x.shape[x.rank - 1];
  if (channels !== bn.channels) throw new Error(`batchNorm: input has ${channels} channels, layer expects ${bn.channels}`);
  if (mode === 'eval') {
    return tf.batchNorm(x, bn.runningMean as tf.Tensor1D, bn.runningVar as tf.Tensor1D, bn.beta as tf.Tensor1D, bn.gamma as tf.Tensor1D, bn.eps) as T;
  }
  const count = x.size / channels;
  if (count < 2) {
    throw new Error(`batchNorm in train mode needs more than 1 value per channel (got input shape [${x.shape}]); use a larger batch or 'eval' mode`);
  }
  if (tf.getBackend() === 'tensorflow') {
    // FusedBatchNormV3 updates the running statistics itself (exponential_avg_factor = momentum): six small ops fewer
    // per BN call. Same formula; the output and running mean are bit-identical to the update below, the running
    // variance within float32 round-off (TF rounds m and N/(N−1) separately: ~1 ulp per update; layers.native.test.ts).
    const { y, mean, variance, runningMean, runningVar } = batchNormTrainNative(x, bn.gamma as tf.Tensor1D, bn.beta as tf.Tensor1D, bn.eps, { runningMean: bn.runningMean, runningVar: bn.runningVar, momentum: bn.momentum });
    bn.runningMean.assign(runningMean!);
    bn.runningVar.assign(runningVar!);
    tf.dispose([runningMean!, runningVar!, mean, variance]);
    return y;
  }
  const { y, mean, variance } = batchNormTrain(x, bn.gamma as tf.Tensor1D, bn.beta as tf.Tensor1D, bn.eps);
  tf.tidy(() => {
    const m = bn.momentum;
    bn.runningMean.assign(tf.add(tf.mul(bn.runningMean, 1 - m), tf.mul(mean, m)));
    bn.runningVar.assign(tf.add(tf.mul(bn.runningVar, 1 - m), tf.mul(variance, (m * count) / (count - 1))));
  });
  mean.dispose();
  variance.dispose();
  return y;
}

/** The train-mode output and the batch statistics it used (constants, for the running averages; caller disposes). */
export interface BatchNormTrainResult<T extends tf.Tensor> {
  y: T;
  mean: tf.Tensor1D;
  /** Biased (population) variance of the batch. */
  variance: tf.Tensor1D;
}

/**
 * y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² the batch mean and biased variance over every axis but the last, as one
 * op whose gradient is the closed form (N values per channel, x̂ = (x − μ)/√(σ² + ε)):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/√(σ² + ε) · (dy − dβ/N − x̂·dγ/N).
 * On the native TensorFlow backend both directions are TF's own fused kernels (FusedBatchNormV3 and its
 * gradient: one pass each way); elsewhere the forward is tf.moments + tf.batchNorm and the backward the formula.
 */
export function batchNormTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): BatchNormTrainResult<T> {
  if (tf.getBackend() === 'tensorflow') return batchNormTrainNative(x, gamma, beta, eps);
  const axes = [...Array(x.rank - 1).keys()];
  const count = x.size / x.shape[x.rank - 1];
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [T, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xs, axes) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    const invStd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    save([xs, g, mean, invStd]);
    return {
      value: tf.batchNorm(xs, mean, variance, b, g, eps) as T,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as T;
        const [xSaved, gSaved, meanSaved, invStdSaved] = saved;
        const xHat = tf.mul(tf.sub(xSaved, meanSaved), invStdSaved);
        const dBeta = tf.sum(d, axes);
        const dGamma = tf.sum(tf.mul(d, xHat), axes);
        const centred = tf.sub(tf.sub(d, tf.div(dBeta, count)), tf.mul(xHat, tf.div(dGamma, count)));
        return [tf.mul(centred, tf.mul(gSaved, invStdSaved)), dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta) as T;
  const { mean, variance } = stats!;
  return { y, mean, variance };
}

/** The slice of tfjs-node's NodeJSKernelBackend used here: run any TF op eagerly by name. */
interface NativeBackend {
  binding: Record<'TF_ATTR_TYPE' | 'TF_ATTR_FLOAT' | 'TF_ATTR_STRING' | 'TF_ATTR_BOOL' | 'TF_FLOAT', number>;
  executeMultipleOutputs(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[]): tf.Tensor;
}

function nativeBackend(): NativeBackend {
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  if (typeof backend.executeMultipleOutputs !== 'function' || !backend.binding) {
    throw new Error(`backend '${tf.getBackend()}' is not tfjs-node's TensorFlow backend`);
  }
  return backend as NativeBackend;
}

function fusedBatchNormAttrs(native: NativeBackend, eps: number, exponentialAvgFactor = 1) {
  const b = native.binding;
  return [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
    { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: exponentialAvgFactor },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
}

/**
 * FusedBatchNormV3 in training mode (outputs y, batch mean, Bessel-corrected variance, and reserve spaces 1–3:
 * mean, biased variance, backend scratch) and FusedBatchNormGradV3 for the backward pass. TF's kernels are 4-D
 * NHWC only, so [N, C] inputs run as [N, 1, 1, C]. With `running`, outputs 1–2 are the updated running statistics
 * (1 − m)·running + m·batch (unbiased variance), returned as runningMean / runningVar (caller disposes).
 */
function batchNormTrainNative<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  running?: { runningMean: tf.Tensor; runningVar: tf.Tensor; momentum: number },
): BatchNormTrainResult<T> & { runningMean?: tf.Tensor1D; runningVar?: tf.Tensor1D } {
  const native = nativeBackend();
  const attrs = fusedBatchNormAttrs(native, eps, running ? running.momentum : 1);
  const gradAttrs = attrs.filter((a) => a.name !== 'exponential_avg_factor'); // not an attribute of the gradient op
  const x4 = (x.rank === 4 ? x : tf.reshape(x, [x.size / x.shape[x.rank - 1], 1, 1, x.shape[x.rank - 1]])) as tf.Tensor4D;
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
  let updated: { runningMean: tf.Tensor1D; runningVar: tf.Tensor1D } | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const empty = running ? null : tf.tensor1d([], 'float32'); // no running statistics to average
    const [y, newMean, newVar, mean, variance, scratch] = native.executeMultipleOutputs(
      'FusedBatchNormV3',
      attrs,
      [xs, g, b, running?.runningMean ?? empty!, running?.runningVar ?? empty!],
      6,
    );
    stats = { mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D };
    if (running) updated = { runningMean: tf.keep(newMean) as tf.Tensor1D, runningVar: tf.keep(newVar) as tf.Tensor1D };
    save([xs, g, mean, variance, scratch]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [dx, dGamma, dBeta] = native.executeMultipleOutputs('FusedBatchNormGradV3', gradAttrs, [dy as tf.Tensor, ...saved], 5);
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y4 = op(x4, gamma, beta) as tf.Tensor4D;
  if (x4 !== (x as tf.Tensor)) x4.dispose();
  const y = (x.rank === 4 ? y4 : tf.reshape(y4, x.shape)) as T;
  if (y !== (y4 as tf.Tensor)) y4.dispose();
  const { mean, variance } = stats!;
  return running ? { y, mean, variance, ...updated! } : { y, mean, variance };
}

/**
 * ReLU. On the native TensorFlow backend the gradient is TF's ReluGrad (one pass) instead of tfjs's
 * dy·step(x) (two); the output is saved instead of the input (y > 0 exactly where x > 0).
 */
export function relu<T extends tf.Tensor>(x: T): T {
  if (tf.getBackend() !== 'tensorflow') return tf.relu(x);
  const native = nativeBackend();
  const attrs = [{ name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT }];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, save] = args as [T, tf.GradSaveFunc];
    const y = tf.relu(xs);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => native.executeSingleOutput('ReluGrad', attrs, [dy as tf.Tensor, saved[0]]),
    };
  });
  return op(x) as T;
}

/**
 * 2x2 max-pool, stride 2, 'valid' (NHWC), as tf.maxPool(x, 2, 2, 'valid'). On the native TensorFlow backend the
 * gradient is computed here instead of by TF's MaxPoolGrad, which re-runs the pooling with an argmax search and took
 * a quarter of a convnet training step (profile of `npm run bench:train -- --profile`: 4 calls, ~100 ms of ~470 ms
 * at batch 256). The window's four phases come from a free reshape and two Splits, and dy goes to the *first*
 * element equal to the max in row-major window order, which is exactly MaxPoolGrad's tie-break (it keeps the first
 * maximum with a strict '>'), so the gradient is bit-identical, ties included (layers.native.test.ts). Elsewhere the
 * stock op and gradient.
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (tf.getBackend() !== 'tensorflow' || x.shape[1] < 2 || x.shape[2] < 2) return tf.maxPool(x, 2, 2, 'valid');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = tf.maxPool(xs, 2, 2, 'valid');
    save([xs, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => maxPool2x2Grad(saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, dy as tf.Tensor4D),
    };
  });
  return op(x) as tf.Tensor4D;
}

/** dL/dx of a 2x2/2 'valid' max-pool: dy routed to the first maximum of each window (row-major), 0 elsewhere. */
export function maxPool2x2Grad(x: tf.Tensor4D, y: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const ho = h >> 1;
    const wo = w >> 1;
    const even = h === 2 * ho && w === 2 * wo ? x : tf.slice(x, [0, 0, 0, 0], [n, 2 * ho, 2 * wo, c]);
    const x6 = tf.reshape(even, [n, ho, 2, wo, 2, c]);
    const [top, bottom] = tf.split(x6, 2, 2);
    const [x00, x01] = tf.split(top, 2, 4);
    const [x10] = tf.split(bottom, 2, 4); // the last phase gets whatever is left
    const y6 = tf.reshape(y, [n, ho, 1, wo, 1, c]);
    const g = tf.reshape(dy, [n, ho, 1, wo, 1, c]);
    const zero = tf.zerosLike(g);
    // The gradient still to be placed moves along the window until it meets the first maximum.
    const e00 = tf.equal(x00, y6);
    const d00 = tf.where(e00, g, zero);
    const r00 = tf.where(e00, zero, g);
    const e01 = tf.equal(x01, y6);
    const d01 = tf.where(e01, r00, zero);
    const r01 = tf.where(e01, zero, r00);
    const e10 = tf.equal(x10, y6);
    const d10 = tf.where(e10, r01, zero);
    const d11 = tf.where(e10, zero, r01);
    const dx6 = tf.concat([tf.concat([d00, d01], 4), tf.concat([d10, d11], 4)], 2);
    const dx = tf.reshape(dx6, [n, 2 * ho, 2 * wo, c]) as tf.Tensor4D;
    return even === x ? dx : tf.pad(dx, [[0, 0], [0, h - 2 * ho], [0, w - 2 * wo], [0, 0]]);
  });
}

/** Global average pooling [N, H, W, C] → [N, C]; its gradient is one broadcast of dy/(H·W) (stock: Fill, Mul, RealDiv). */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args[0] as tf.Tensor4D;
    return {
      value: tf.mean(xs, [1, 2]) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.broadcastTo(tf.reshape(tf.div(dy as tf.Tensor, h * w), [n, 1, 1, c]), [n, h, w, c]),
    };
  });
  return op(x) as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// Linear.

export interface LinearWeights {
  /** [in, out]. */
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export function createLinear(store: VariableStore, name: string, inFeatures: number, outFeatures: number, opts: { bias: boolean }): LinearWeights {
  for (const [k, v] of Object.entries({ inFeatures, outFeatures })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`linear '${name}': ${k} must be a positive integer, got ${v}`);
  }
  const s = store.scope(name);
  const init = uniformFanIn(inFeatures);
  const weight = s.param('weight', [inFeatures, outFeatures], init);
  const bias = opts.bias ? s.param('bias', [outFeatures], init) : null;
  return { weight, bias, inFeatures, outFeatures };
}

export function linear(x: tf.Tensor2D, lin: LinearWeights): tf.Tensor2D {
  if (x.rank !== 2 || x.shape[1] !== lin.inFeatures) {
    throw new Error(`linear: expected input [N, ${lin.inFeatures}], got [${x.shape}]`);
  }
  const y = tf.matMul(x, lin.weight as tf.Tensor2D) as tf.Tensor2D;
  if (!lin.bias) return y;
  const out = tf.add(y, lin.bias) as tf.Tensor2D;
  y.dispose();
  return out;
}

/** Total element count of a variable map (what torch's sum(p.numel()) reports). */
export function countElements(vars: Map<string, tf.Variable>): number {
  let n = 0;
  for (const v of vars.values()) n += v.size;
  return n;
}
