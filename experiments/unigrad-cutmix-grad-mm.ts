import { defineExperiment } from './define';

/**
 * UniGrad + CutMix, with momentum encoder. The official code has no CutMix (spec §4.4); this is this project's
 * reading of the common SSL recipe:
 * - each ONLINE view is CutMixed with another image of the same batch (one random permutation per step, a box of
 *   area (1 − λ)·H·W with λ ~ U(0, 1), pasted from image perm(i) into image i; λ is then recomputed from the box
 *   actually pasted after clipping to the image);
 * - the positive target of the mixed view i is λ_i·z_t(i) + (1 − λ_i)·z_t(perm(i)), with z_t the momentum
 *   encoder's normalised embedding of the other (unmixed) view;
 * - the momentum encoder sees the unmixed views, so F (the correlation state) is built from clean targets.
 * The paper's number (74.9) is for 800 epochs and can only be quoted.
 */
export default defineExperiment({
  row: 'unigrad_cutmix',
  variant: 'grad-mm',
  description: 'UniGrad gradient with CutMix on the online views and area-weighted mixed positives (this project\'s reading).',
  overrides: { method: 'unigrad', form: 'grad', target: 'mm', cutmix: true },
});
