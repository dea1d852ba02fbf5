// LARS with NVIDIA apex `LARC` semantics (the wrapper the official linear probe uses, spec §8):
// for each parameter with ‖θ‖ ≠ 0 and ‖g‖ ≠ 0,
//   g ← (g + wd·θ) · trust·‖θ‖ / (‖g‖ + ‖θ‖·wd + eps)
// and the wrapped SGD then runs with weight decay 0 (LARC absorbs it). A parameter with a zero norm (the
// probe's bias at its first step) or a zero gradient keeps its raw gradient, without weight decay.
import * as tf from '@tensorflow/tfjs';
import { GradMap, Optimizer, SGD, checkLr, gradEntries } from './sgd';

/** Decides which parameters skip LARS adaptation and weight decay. */
export type ParamPredicate = (name: string, param: tf.Variable) => boolean;

/** Biases and normalisation scales/shifts: every parameter of rank ≤ 1 (how the BYOL-style LARS excludes them). */
export const isBiasOrNormParam: ParamPredicate = (_name, param) => param.rank <= 1;

export interface LarsOptions {
  /** Momentum of the wrapped SGD (paper probe 0.9). */
  momentum?: number;
  /** Weight decay, folded in as apex does (paper probe 0). */
  weightDecay?: number;
  /** apex `trust_coefficient` (paper probe 0.001). */
  trustCoefficient?: number;
  /** apex `eps`. */
  eps?: number;
  /** apex `clip`: cap the adaptive factor so that lr·factor ≤ lr (paper probe: false). */
  clip?: boolean;
  /**
   * Parameters for which this returns true get a plain SGD step: no adaptation and no weight decay
   * (e.g. `isBiasOrNormParam` for original-loss recipes). Default: none excluded (apex LARC).
   */
  exclude?: ParamPredicate;
}

export class LARS implements Optimizer {
  readonly weightDecay: number;
  readonly trustCoefficient: number;
  readonly eps: number;
  readonly clip: boolean;
  private readonly exclude: ParamPredicate;
  private readonly sgd: SGD;

  constructor(options: LarsOptions = {}) {
    this.weightDecay = options.weightDecay ?? 0;
    this.trustCoefficient = options.trustCoefficient ?? 0.001;
    this.eps = options.eps ?? 1e-8;
    this.clip = options.clip ?? false;
    this.exclude = options.exclude ?? (() => false);
    if (!(this.weightDecay >= 0)) throw new Error(`LARS weightDecay must be >= 0, got ${this.weightDecay}`);
    if (!(this.trustCoefficient > 0)) throw new Error(`LARS trustCoefficient must be > 0, got ${this.trustCoefficient}`);
    this.sgd = new SGD({ momentum: options.momentum ?? 0.9, weightDecay: 0 });
  }

  get momentum(): number {
    return this.sgd.momentum;
  }

  get stepCount(): number {
    return this.sgd.stepCount;
  }

  step(params: Map<string, tf.Variable>, grads: GradMap, lr: number): void {
    checkLr(lr);
    const scaled = new Map<string, tf.Tensor>();
    try {
      for (const [name, grad] of gradEntries(grads)) {
        const param = params.get(name);
        if (param === undefined || this.exclude(name, param)) {
          scaled.set(name, grad); // unknown names are reported by the SGD step
          continue;
        }
        scaled.set(name, tf.tidy(() => this.adapt(param, grad, lr)));
      }
      this.sgd.applyUpdate(params, scaled, lr, () => 0);
    } finally {
      for (const [name, t] of scaled) if (t !== getGrad(grads, name)) t.dispose();
    }
  }

  /** The LARC-adjusted gradient, computed without reading values back (no device sync). */
  private adapt(param: tf.Tensor, grad: tf.Tensor, lr: number): tf.Tensor {
    const wd = this.weightDecay;
    const paramNorm = tf.norm(param);
    const gradNorm = tf.norm(grad);
    let factor: tf.Tensor = tf.div(tf.mul(paramNorm, this.trustCoefficient), tf.add(tf.add(gradNorm, tf.mul(paramNorm, wd)), this.eps));
    if (this.clip) factor = tf.minimum(tf.div(factor, lr), 1);
    const adapted = tf.mul(wd !== 0 ? tf.add(grad, tf.mul(param, wd)) : grad, factor);
    const active = tf.logicalAnd(tf.notEqual(paramNorm, 0), tf.notEqual(gradNorm, 0));
    return tf.where(active, adapted, grad);
  }

  state(): Record<string, tf.Tensor> {
    return this.sgd.state();
  }

  loadState(slots: Record<string, tf.Tensor>, stepCount: number): void {
    this.sgd.loadState(slots, stepCount);
  }

  dispose(): void {
    this.sgd.dispose();
  }
}

function getGrad(grads: GradMap, name: string): tf.Tensor | undefined {
  return grads instanceof Map ? grads.get(name) : grads[name];
}
