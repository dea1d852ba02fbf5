// Targets for UniGrad + CutMix: an online CutMix image made from samples i and perm(i) with area ratio lam_i (of
// sample i) gets the positive normalize(lam_i·zt_i + (1 − lam_i)·zt_perm(i)), zt the OTHER view's unit targets.
// Renormalised so the positive is a unit vector like every other target (its cosine with z stays in [−1, 1]).
// Pass the results as LossInputs.mixedPositives { forView1, forView2 }.
import * as tf from '@tensorflow/tfjs';
import { LossInputError, constant, normalizeRows } from './common';

/** normalize(lam_i·Zt_i + (1 − lam_i)·Zt_perm(i)) for every row (a constant). Zt: N×D unit target embeddings. */
export function mixTargets(Zt: tf.Tensor2D, perm: Int32Array, lam: Float32Array): tf.Tensor2D {
  const n = Zt.shape[0];
  if (Zt.rank !== 2) throw new LossInputError(`mixTargets: Zt must be N×D, got shape [${Zt.shape.join(', ')}]`);
  if (perm.length !== n || lam.length !== n) {
    throw new LossInputError(`mixTargets: perm (${perm.length}) and lam (${lam.length}) must both have one entry per row of Zt (${n})`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(perm[i]) || perm[i] < 0 || perm[i] >= n) throw new LossInputError(`mixTargets: perm[${i}] = ${perm[i]} is not a row index in [0, ${n})`);
    if (!(lam[i] >= 0 && lam[i] <= 1)) throw new LossInputError(`mixTargets: lam[${i}] = ${lam[i]} must be an area ratio in [0, 1]`);
  }
  return constant(() => {
    const weights = tf.tensor2d(lam, [n, 1], 'float32');
    const partner = tf.gather(Zt, tf.tensor1d(perm, 'int32'));
    return normalizeRows(tf.add(tf.mul(weights, Zt), tf.mul(tf.sub(1, weights), partner)) as tf.Tensor2D);
  });
}
