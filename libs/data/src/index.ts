// Public API of @unigrad/data: datasets (Fashion-MNIST, CIFAR-10, ImageFolder), seeded batches, and the batched
// augmentations of spec §7.3 (pretraining, two views) and §8 (linear evaluation). See ../README.md.
export { ArrayDataset, CIFAR10_NORM, FASHION_MNIST_NORM, IMAGENET_NORM, channelStats } from './dataset';
export type { Dataset, Normalization, RawBatch } from './dataset';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  FASHION_MNIST_SOURCE,
  FASHION_MNIST_SYSTEM_DIR,
  fashionMnistCandidates,
  findFashionMnistDir,
  hasFashionMnist,
  loadFashionMnist,
  readIdx,
} from './fashion-mnist';
export type { FashionMnistSearch, IdxArray } from './fashion-mnist';
export { CIFAR10_CLASSES, CIFAR10_FILES, loadCifar10 } from './cifar';
export type { Cifar10Options } from './cifar';
export { IMAGE_EXTENSIONS, ImageFolder, decodeImage } from './image-folder';
export type { ImageFolderOptions } from './image-folder';
export { batches, batchesPerEpoch, disposeBatch, epochOrder, rawToTensor } from './batches';
export type { Batch, BatchOptions } from './batches';
export {
  JITTER_OPS,
  applyViews,
  augment,
  cropBox,
  evalTransform,
  linearTrainAugment,
  moco2Augment,
  normalize,
  sampleCropRect,
  sampleViewParams,
  twoViews,
  validateAugmentConfig,
} from './augment';
export type { AugmentConfig, ColorJitterConfig, CropRect, EvalTransformConfig, ViewParams } from './augment';
export { adjustHue, grayscale, toGray } from './color';
export { gaussianBlur, gaussianKernel1d } from './blur';
export { datasetNames, getDatasetSpec, isDatasetName, registerDataset, syntheticDataset } from './registry';
export type { DatasetSpec, OpenOptions } from './registry';
