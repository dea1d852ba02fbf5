import { defineExperiment } from './define';

/** The same linear probe on a frozen, randomly initialised encoder: the floor any SSL method must clearly beat. */
export default defineExperiment({
  row: 'baseline_random',
  variant: 'baseline',
  description: 'Linear probe on a frozen randomly initialised encoder (same architecture and seed as the SSL runs).',
  overrides: {},
});
