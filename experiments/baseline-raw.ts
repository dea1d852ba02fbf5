import { defineExperiment } from './define';

/** The same linear probe on raw pixels: what a linear model gets with no encoder at all. */
export default defineExperiment({
  row: 'baseline_raw',
  variant: 'baseline',
  description: 'Linear probe on raw (normalised) pixels.',
  overrides: {},
});
