// The pretraining views: the config's augmentation block → libs/data's batched MoCo-v2 pipeline (spec §7.3).
import type { Rng } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import { moco2Augment, twoViews, validateAugmentConfig, type AugmentConfig, type Batch, type Dataset } from '@unigrad/data';

/** The libs/data augmentation config for a pretraining config; colour-only ops are off on 1-channel data. */
export function augmentConfigFor(config: PretrainConfig, dataset: Dataset): AugmentConfig {
  const a = config.augment;
  const base = moco2Augment(config.data.imageSize, dataset.channels, dataset);
  const color = dataset.channels === 3;
  const augment: AugmentConfig = {
    ...base,
    crop: { scale: [a.cropScaleMin, a.cropScaleMax], ratio: base.crop.ratio },
    colorJitter: {
      p: a.jitterProb,
      brightness: a.brightness,
      contrast: a.contrast,
      saturation: color ? a.saturation : 0,
      hue: color ? a.hue : 0,
    },
    grayscaleP: color ? a.grayscaleProb : 0,
    blur: a.blurProb > 0 ? { p: a.blurProb, sigma: [a.blurSigmaMin, a.blurSigmaMax] } : null,
    flipP: a.flipProb,
  };
  validateAugmentConfig(augment);
  return augment;
}

/** Returns a function making the two views of a batch; the caller owns the views (and still owns the batch). */
export function makeAugmenter(config: PretrainConfig, dataset: Dataset): (batch: Batch, rng: Rng) => ReturnType<typeof twoViews> {
  const augment = augmentConfigFor(config, dataset);
  return (batch, rng) => twoViews(batch, augment, rng);
}
