// The Siamese network of §2/§6: online trunk + projector (+ optional predictor) and, for "mm" runs, a momentum
// (EMA) copy of trunk + projector. The caller forwards each view separately, so BatchNorm statistics are per
// view (§10.8). Checkpoint keys follow the official ones without `module.`: encoder.*, projector.*,
// predictor.*, momentum_encoder.*, momentum_projector.*.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import { VariableStore } from './layers';
import { buildPredictor, buildProjector } from './mlp';
import type { Mode, Network } from './network';
import { buildTrunk, type TrunkConfig } from './trunk';

export interface SiameseConfig {
  trunk: TrunkConfig;
  /** Projector hidden and output widths; its input width is the trunk's output width. */
  projector: { hiddenDim: number; outputDim: number };
  /** Predictor on top of the projector (original BYOL/SimSiam), projector.outputDim → hiddenDim → projector.outputDim. */
  predictor?: { hiddenDim: number } | null;
  /** Keep an EMA copy of trunk + projector (the "mm" runs). false: no copy at all ("w/o mm", §6.2). */
  momentum: boolean;
}

// A type alias (not an interface) so it is a tf.TensorContainer and can be returned from tf.tidy.
export type OnlineOutputs = {
  /** Trunk output (pooled features). */
  features: tf.Tensor2D;
  /** Projector output. */
  projection: tf.Tensor2D;
  /** What the loss sees as the online embedding: predictor(projection) with a predictor, else projection itself. */
  p: tf.Tensor2D;
};

/** A tensor as read back from a checkpoint file (see checkpoint.ts), or a live tensor. */
export type TensorSource = tf.Tensor | { shape: number[]; dtype: string; data: Float32Array | Int32Array };

export class SiameseNet {
  readonly config: SiameseConfig;
  readonly encoder: Network;
  readonly projector: Network;
  readonly predictor: Network | null;
  readonly momentumEncoder: Network | null;
  readonly momentumProjector: Network | null;
  private disposed = false;

  constructor(config: SiameseConfig, rng: Rng) {
    if (typeof config.momentum !== 'boolean') throw new Error(`SiameseConfig.momentum must be true or false, got ${String(config.momentum)}`);
    this.config = config;
    const proj = (inputDim: number) => ({ inputDim, hiddenDim: config.projector.hiddenDim, outputDim: config.projector.outputDim });
    // Creation order fixes the Rng draws: trunk, projector, predictor.
    this.encoder = buildTrunk(config.trunk, VariableStore.fromRng(rng));
    this.projector = buildProjector(proj(this.encoder.outputDim), VariableStore.fromRng(rng));
    const pred = config.predictor;
    this.predictor = pred
      ? buildPredictor({ inputDim: config.projector.outputDim, hiddenDim: pred.hiddenDim, outputDim: config.projector.outputDim }, VariableStore.fromRng(rng))
      : null;
    if (config.momentum) {
      // Same architecture, values copied from the online nets (§6.1: the target starts identical), into
      // separate, non-trainable variables.
      this.momentumEncoder = buildTrunk(config.trunk, VariableStore.copying(this.encoder, false));
      this.momentumProjector = buildProjector(proj(this.encoder.outputDim), VariableStore.copying(this.projector, false));
    } else {
      this.momentumEncoder = null;
      this.momentumProjector = null;
    }
  }

  get hasTarget(): boolean {
    return this.momentumEncoder !== null;
  }

  /** Width of the embeddings the losses see. */
  get embeddingDim(): number {
    return this.config.projector.outputDim;
  }

  /** One view through the online branch. Call once per view, inside the gradient tape. */
  forwardOnline(x: tf.Tensor, mode: Mode): OnlineOutputs {
    this.checkAlive();
    return tf.tidy(() => {
      const features = this.encoder.apply(x, mode);
      const projection = this.projector.apply(features, mode);
      const p = this.predictor ? this.predictor.apply(projection, mode) : projection;
      return { features, projection, p };
    });
  }

  /**
   * One view through the momentum branch, in train mode (batch statistics, §2). Call it outside the gradient
   * tape: the result is a constant (the target variables are non-trainable and unconnected to the online ones).
   */
  forwardTarget(x: tf.Tensor): tf.Tensor2D {
    this.checkAlive();
    const { encoder, projector } = this.requireTarget('forwardTarget');
    return tf.tidy(() => projector.apply(encoder.apply(x, 'train'), 'train'));
  }

  /** θt ← m·θt + (1 − m)·θo over parameters only; BN running buffers are not averaged (§6.1). Call before forwardTarget. */
  updateTarget(m: number): void {
    this.checkAlive();
    if (!Number.isFinite(m) || m < 0 || m > 1) throw new Error(`updateTarget: momentum must be in [0, 1], got ${m}`);
    const { encoder, projector } = this.requireTarget('updateTarget');
    tf.tidy(() => {
      for (const [online, target] of [
        [this.encoder, encoder],
        [this.projector, projector],
      ] as const) {
        for (const [name, t] of target.params) {
          const o = online.params.get(name)!;
          t.assign(tf.add(tf.mul(t, m), tf.mul(o, 1 - m)));
        }
      }
    });
  }

  /** Trainable variables: encoder.*, projector.*, predictor.* (what the optimizer updates). */
  onlineParams(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [prefix, net] of this.onlineParts()) addPrefixed(out, prefix, net.params);
    return out;
  }

  /** EMA parameters: momentum_encoder.*, momentum_projector.* (empty without a target). */
  targetParams(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [prefix, net] of this.targetParts()) addPrefixed(out, prefix, net.params);
    return out;
  }

  /** Every parameter and BN buffer of every part, by checkpoint key. */
  allTensorsForCheckpoint(): Record<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [prefix, net] of [...this.onlineParts(), ...this.targetParts()]) {
      addPrefixed(out, prefix, net.params);
      addPrefixed(out, prefix, net.buffers);
    }
    return Object.fromEntries(out);
  }

  /**
   * Assigns every parameter and buffer from `tensors` (keys as in allTensorsForCheckpoint). Missing or
   * unexpected keys and shape mismatches are errors, listed together, and nothing is assigned in that case.
   */
  loadFromCheckpoint(tensors: Record<string, TensorSource>): void {
    this.checkAlive();
    const own = this.allTensorsForCheckpoint();
    const problems: string[] = [];
    const missing = Object.keys(own).filter((k) => !(k in tensors));
    const unexpected = Object.keys(tensors).filter((k) => !(k in own));
    if (missing.length) problems.push(`missing ${missing.length} key(s): ${preview(missing)}`);
    if (unexpected.length) problems.push(`unexpected ${unexpected.length} key(s): ${preview(unexpected)}`);
    for (const [key, v] of Object.entries(own)) {
      const src = tensors[key];
      if (!src) continue;
      if (!tf.util.arraysEqual(src.shape, v.shape)) problems.push(`'${key}' has shape [${src.shape}], the network expects [${v.shape}]`);
      else if (src.dtype !== 'float32') problems.push(`'${key}' has dtype ${src.dtype}, the network expects float32`);
    }
    if (problems.length) {
      throw new Error(`checkpoint does not match this network (${this.describe()}): ${problems.join('; ')}`);
    }
    for (const [key, v] of Object.entries(own)) {
      const src = tensors[key];
      const value = src instanceof tf.Tensor ? src.clone() : tf.tensor(src.data, src.shape, 'float32');
      v.assign(value);
      value.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    for (const [, net] of [...this.onlineParts(), ...this.targetParts()]) net.dispose();
    this.disposed = true;
  }

  private onlineParts(): [string, Network][] {
    const parts: [string, Network][] = [
      ['encoder.', this.encoder],
      ['projector.', this.projector],
    ];
    if (this.predictor) parts.push(['predictor.', this.predictor]);
    return parts;
  }

  private targetParts(): [string, Network][] {
    if (!this.momentumEncoder || !this.momentumProjector) return [];
    return [
      ['momentum_encoder.', this.momentumEncoder],
      ['momentum_projector.', this.momentumProjector],
    ];
  }

  private requireTarget(what: string): { encoder: Network; projector: Network } {
    if (!this.momentumEncoder || !this.momentumProjector) {
      throw new Error(
        `${what}: this SiameseNet has no momentum encoder (config momentum: false); ` +
          'w/o-mm runs use the stop-gradient online outputs as the target (spec §6.2)',
      );
    }
    return { encoder: this.momentumEncoder, projector: this.momentumProjector };
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('SiameseNet was disposed');
  }

  private describe(): string {
    const pred = this.config.predictor ? `, predictor ${this.config.predictor.hiddenDim}` : '';
    return `${this.encoder.name}, projector ${this.config.projector.hiddenDim}/${this.config.projector.outputDim}${pred}, momentum ${this.config.momentum}`;
  }
}

function addPrefixed(out: Map<string, tf.Variable>, prefix: string, vars: Map<string, tf.Variable>): void {
  for (const [name, v] of vars) out.set(prefix + name, v);
}

function preview(keys: string[]): string {
  return keys.slice(0, 5).join(', ') + (keys.length > 5 ? `, … (${keys.length - 5} more)` : '');
}
