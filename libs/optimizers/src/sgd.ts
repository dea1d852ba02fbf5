// SGD with momentum and L2 weight decay, PyTorch `torch.optim.SGD` semantics (dampening 0, no Nesterov):
//   g ← g + wd·θ;  buf ← μ·buf + g  (buf = g the first time a parameter gets a gradient);  θ ← θ − lr·buf.
// Parameters are named, so the momentum slots are a plain name → tensor map that checkpoints directly.
import * as tf from '@tensorflow/tfjs';

export type GradMap = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

export interface SgdOptions {
  /** Momentum μ (official recipe 0.9). 0 keeps no slots. */
  momentum?: number;
  /** L2 weight decay added to the gradient of every parameter (official pretraining recipe 1e-4). */
  weightDecay?: number;
}

/** Anything that updates named variables from named gradients and has checkpointable slots. */
export interface Optimizer {
  /** Number of `step` calls so far (restored by `loadState`). */
  readonly stepCount: number;
  /**
   * One update. Parameters without a gradient (absent key) are left untouched, as PyTorch skips
   * `p.grad is None`. The caller keeps ownership of `grads`.
   */
  step(params: Map<string, tf.Variable>, grads: GradMap, lr: number): void;
  /** The slots by parameter name. Owned by the optimizer: read them (e.g. to checkpoint), don't dispose them. */
  state(): Record<string, tf.Tensor>;
  /** Replaces all slots with copies of `slots` (the caller keeps ownership of its tensors). */
  loadState(slots: Record<string, tf.Tensor>, stepCount: number): void;
  dispose(): void;
}

export function gradEntries(grads: GradMap): [string, tf.Tensor][] {
  return grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
}

export function checkLr(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number >= 0, got ${lr}`);
}

export class SGD implements Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  private buffers = new Map<string, tf.Tensor>();
  private steps = 0;

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`SGD momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`SGD weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  get stepCount(): number {
    return this.steps;
  }

  step(params: Map<string, tf.Variable>, grads: GradMap, lr: number): void {
    this.applyUpdate(params, grads, lr, () => this.weightDecay);
  }

  /**
   * The update with a per-parameter weight decay (LARS folds its own decay into the gradient and passes 0).
   * @internal shared with LARS
   */
  applyUpdate(params: Map<string, tf.Variable>, grads: GradMap, lr: number, decayOf: (name: string) => number): void {
    checkLr(lr);
    for (const [name, grad] of gradEntries(grads)) {
      const param = params.get(name);
      if (param === undefined) {
        throw new Error(`gradient for '${name}' has no matching parameter; pass the same names as the params map`);
      }
      if (!sameShape(param.shape, grad.shape)) {
        throw new Error(`gradient for '${name}' has shape [${grad.shape}] but the parameter has [${param.shape}]`);
      }
      const wd = decayOf(name);
      const old = this.buffers.get(name);
      const next = tf.tidy(() => {
        const g = wd !== 0 ? tf.add(grad, tf.mul(param, wd)) : grad;
        if (this.momentum === 0) {
          param.assign(tf.sub(param, tf.mul(g, lr)));
          return undefined;
        }
        const buf = old === undefined ? tf.clone(g) : tf.add(tf.mul(old, this.momentum), g);
        param.assign(tf.sub(param, tf.mul(buf, lr)));
        return buf;
      });
      if (next !== undefined) {
        old?.dispose();
        this.buffers.set(name, next);
      }
    }
    this.steps += 1;
  }

  state(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.buffers);
  }

  loadState(slots: Record<string, tf.Tensor>, stepCount: number): void {
    if (!Number.isInteger(stepCount) || stepCount < 0) throw new Error(`stepCount must be an integer >= 0, got ${stepCount}`);
    const copies = new Map(Object.entries(slots).map(([name, t]) => [name, tf.clone(t)] as const));
    this.disposeBuffers();
    this.buffers = copies;
    this.steps = stepCount;
  }

  dispose(): void {
    this.disposeBuffers();
  }

  private disposeBuffers(): void {
    for (const t of this.buffers.values()) t.dispose();
    this.buffers.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
