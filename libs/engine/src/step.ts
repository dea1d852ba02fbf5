// One pretraining step, as a function: EMA update → target forward → (CutMix) → online forward and loss under the
// tape → one read-back → optimizer update. The loop, the benchmark and the tests all call this; nothing else
// trains. It takes ownership of the two views and returns the method's next state (F, queue).
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import type { LossInputs, MethodState } from '@unigrad/losses';
import { applyCutMix, cutmixPositives, drawCutMix } from './cutmix';
import type { StepContext } from './setup';

export interface StepSchedule {
  lr: number;
  /** EMA momentum of this step (ignored without a momentum encoder). */
  emaMomentum: number;
  /** The step's random draws (CutMix boxes); derived from (seed, step) by the loop. */
  rng: Rng;
}

export interface StepOutcome {
  loss: number;
  /** Online-vs-target positive cosine (constant; logged). */
  posSim: number;
  /** Mean per-dimension std of the L2-normalised online embeddings of view 1: 1/sqrt(D) healthy, 0 collapsed. */
  embeddingStd: number;
  /** False when the loss was not finite: no update was applied and `state` is the old state. */
  applied: boolean;
  state: MethodState;
}

export async function trainStep(ctx: StepContext, views: [tf.Tensor4D, tf.Tensor4D], state: MethodState, schedule: StepSchedule): Promise<StepOutcome> {
  const { net, method, hyper } = ctx;
  const [view1, view2] = views;

  // Target branch: EMA update first, then the target forward in train mode, outside the tape (spec §6.1).
  let p1m: tf.Tensor2D | undefined;
  let p2m: tf.Tensor2D | undefined;
  if (net.hasTarget) {
    net.updateTarget(schedule.emaMomentum);
    p1m = net.forwardTarget(view1);
    p2m = net.forwardTarget(view2);
  }

  // UniGrad + CutMix: online views are mixed, their positives are the area-weighted mix of targets.
  let online1: tf.Tensor4D = view1;
  let online2: tf.Tensor4D = view2;
  let mixedPositives: LossInputs['mixedPositives'];
  if (ctx.cutmix) {
    const [n, h, w] = view1.shape;
    const draw1 = drawCutMix(n, h, w, schedule.rng);
    const draw2 = drawCutMix(n, h, w, schedule.rng);
    online1 = applyCutMix(view1, draw1);
    online2 = applyCutMix(view2, draw2);
    // Online view 1's positive is view 2's unit target mixed like view 1 (and vice versa).
    mixedPositives = cutmixPositives(p1m!, p2m!, draw1, draw2);
  }

  // Online forward + loss under the tape; posSim, the embedding std and the new state are kept out of it.
  const kept: { posSim?: tf.Scalar; embeddingStd?: tf.Scalar; state?: MethodState } = {};
  const { value, grads } = tf.variableGrads(() => {
    const out1 = net.forwardOnline(online1, 'train');
    const out2 = net.forwardOnline(online2, 'train');
    const inputs: LossInputs = { p1: out1.projection, p2: out2.projection, p1m, p2m, mixedPositives };
    if (net.predictor) {
      inputs.q1 = out1.p;
      inputs.q2 = out2.p;
    }
    const result = ctx.form === 'grad' ? method.gradient(inputs, ctx.target, state, hyper) : method.original(inputs, state, hyper);
    kept.posSim = tf.keep(result.posSim);
    kept.embeddingStd = tf.keep(tf.tidy(() => embeddingStd(out1.projection)));
    kept.state = keepState(result.state);
    return result.loss;
  }, [...ctx.params.values()]);

  // One read-back per step: the loss (checked before the update), the positive similarity and the embedding std.
  const numbers = tf.tidy(() => tf.stack([value, kept.posSim!, kept.embeddingStd!]));
  const [loss, posSim, embStd] = await numbers.data();
  const applied = Number.isFinite(loss);
  if (applied) {
    const named = new Map(Object.entries(grads).map(([varName, g]) => [ctx.keyOfVariable.get(varName)!, g]));
    ctx.optimizer.step(ctx.params, named, schedule.lr);
  }
  tf.dispose([numbers, value, ...Object.values(grads), view1, view2, p1m, p2m, kept.posSim, kept.embeddingStd]);
  if (ctx.cutmix) tf.dispose([online1, online2, mixedPositives!.forView1, mixedPositives!.forView2]);
  if (!applied) {
    disposeState(kept.state!, state);
    return { loss, posSim, embeddingStd: embStd, applied, state };
  }
  // Replace the method state (F, queue), freeing what the new state does not reuse.
  disposeState(state, kept.state);
  return { loss, posSim, embeddingStd: embStd, applied, state: kept.state! };
}

/** Mean over dimensions of the per-dimension std of the L2-normalised embeddings (1/sqrt(D) when healthy, 0 when collapsed). */
function embeddingStd(p: tf.Tensor2D): tf.Scalar {
  const z = tf.div(p, tf.maximum(tf.norm(p, 2, 1, true), 1e-12));
  return tf.moments(z, 0).variance.sqrt().mean() as tf.Scalar;
}

/** Keeps the new state's tensors alive past the tape. */
function keepState(next: MethodState): MethodState {
  for (const v of Object.values(next)) if (v) tf.keep(v);
  return next;
}

/** Disposes the tensors of `state` that `replacement` does not reuse. */
export function disposeState(state: MethodState, replacement: MethodState = {}): void {
  const reused = new Set(Object.values(replacement));
  for (const v of Object.values(state)) if (v && !reused.has(v) && !v.isDisposed) v.dispose();
}
