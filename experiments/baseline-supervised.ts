import { defineExperiment } from './define';

/**
 * Upper bound: the same encoder trained end to end with labels (cross-entropy, same augmentation, optimizer and
 * epochs as the preset's pretraining), then the same linear probe on its frozen features.
 */
export default defineExperiment({
  row: 'baseline_supervised',
  variant: 'baseline',
  description: 'Encoder trained end to end with labels (upper bound), then the same linear probe.',
  overrides: {},
});
