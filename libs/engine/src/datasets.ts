// The dataset of a config, through libs/data's registry: the loop and the probes open data only here.
import type { PretrainConfig } from '@unigrad/configs';
import { getDatasetSpec, type Dataset } from '@unigrad/data';

/** Image channels the trunk takes for this config: the dataset's own, or (synthetic data) 1 for the convnet, else 3. */
export function datasetChannels(config: PretrainConfig): 1 | 3 {
  return getDatasetSpec(config.data.dataset).channels ?? (config.model.trunk === 'convnet' ? 1 : 3);
}

export async function openDataset(config: PretrainConfig, split: 'train' | 'test'): Promise<Dataset> {
  return getDatasetSpec(config.data.dataset).open({ split, dir: config.data.dir, imageSize: config.data.imageSize, channels: datasetChannels(config), seed: config.seed });
}
