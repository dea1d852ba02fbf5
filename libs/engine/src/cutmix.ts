// CutMix on a batch of online views (this project's reading for UniGrad + CutMix, the official code has none,
// spec §4.4): image i receives a box pasted from image perm(i); λ_i is the fraction of image i that stays its own,
// recomputed from the box actually pasted after clipping to the image. The momentum encoder sees the unmixed views
// (F is built from clean targets); the positive of mixed online view 1 is normalize(λ_i·t2_i + (1 − λ_i)·t2_perm(i)),
// t2 the unit target of view 2 (cutmixPositives), and symmetrically for view 2.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import { mixTargets, normalizeRows } from '@unigrad/losses';

export interface CutMixDraw {
  /** Source image of the pasted box, per sample. */
  perm: Int32Array;
  /** Fraction of each image that is its own (1 = untouched). */
  lam: Float32Array;
  /** Boxes [top, left, height, width] in pixels, per sample. */
  boxes: Int32Array;
}

/** Draws one permutation and one box per sample, torchvision/timm style: λ ~ U(0, 1), box side ∝ sqrt(1 − λ). */
export function drawCutMix(batchSize: number, height: number, width: number, rng: Rng): CutMixDraw {
  const perm = rng.permutation(batchSize);
  const lam = new Float32Array(batchSize);
  const boxes = new Int32Array(batchSize * 4);
  for (let i = 0; i < batchSize; i++) {
    const target = rng.next();
    const cutH = Math.floor(height * Math.sqrt(1 - target));
    const cutW = Math.floor(width * Math.sqrt(1 - target));
    const centerY = rng.int(height);
    const centerX = rng.int(width);
    const top = clamp(centerY - Math.floor(cutH / 2), 0, height);
    const bottom = clamp(centerY + Math.ceil(cutH / 2), 0, height);
    const left = clamp(centerX - Math.floor(cutW / 2), 0, width);
    const right = clamp(centerX + Math.ceil(cutW / 2), 0, width);
    boxes.set([top, left, bottom - top, right - left], i * 4);
    // A sample pasted onto itself is unchanged.
    lam[i] = perm[i] === i ? 1 : 1 - ((bottom - top) * (right - left)) / (height * width);
  }
  return { perm, lam, boxes };
}

/** Applies a draw to an NHWC batch: mixed_i = x_i outside the box, x_perm(i) inside it. */
export function applyCutMix(images: tf.Tensor4D, draw: CutMixDraw): tf.Tensor4D {
  const [batchSize, height, width] = images.shape;
  const mask = new Float32Array(batchSize * height * width);
  for (let i = 0; i < batchSize; i++) {
    const [top, left, boxH, boxW] = draw.boxes.subarray(i * 4, i * 4 + 4);
    for (let y = top; y < top + boxH; y++) mask.fill(1, i * height * width + y * width + left, i * height * width + y * width + left + boxW);
  }
  return tf.tidy(() => {
    const inside = tf.tensor4d(mask, [batchSize, height, width, 1]);
    const source = tf.gather(images, tf.tensor1d(draw.perm, 'int32'));
    return images.mul(tf.scalar(1).sub(inside)).add(source.mul(inside)) as tf.Tensor4D;
  });
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/**
 * The positives of the two CutMixed online views, by the one convention of LossInputs.mixedPositives: online view 1
 * (image i mixed with perm1(i)) is pulled toward view 2's unit target mixed the same way, and vice versa.
 */
export function cutmixPositives(p1m: tf.Tensor2D, p2m: tf.Tensor2D, draw1: CutMixDraw, draw2: CutMixDraw): { forView1: tf.Tensor2D; forView2: tf.Tensor2D } {
  return tf.tidy(() => ({
    forView1: mixTargets(normalizeRows(p2m), draw1.perm, draw1.lam),
    forView2: mixTargets(normalizeRows(p1m), draw2.perm, draw2.lam),
  }));
}
