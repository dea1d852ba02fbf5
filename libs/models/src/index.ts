export type { Mode, Network } from './network';
export {
  BN_EPS,
  BN_MOMENTUM,
  VariableStore,
  batchNorm,
  batchNormTrain,
  conv2d,
  countElements,
  createBatchNorm,
  createConv2d,
  createLinear,
  globalAvgPool,
  linear,
  relu,
} from './layers';
export type { BatchNormTrainResult, BatchNormWeights, Conv2dOptions, Conv2dWeights, LinearWeights } from './layers';
export { ResNetTrunk } from './resnet';
export type { ResNetDepth, ResNetOptions, ResNetStem } from './resnet';
export { CONVNET_DEFAULT_WIDTHS, ConvNetTrunk } from './convnet';
export type { ConvNetOptions } from './convnet';
export { RESNET_DEFAULT_WIDTHS, TRUNK_KINDS, createTrunk } from './trunk';
export type { TrunkConfig, TrunkKind } from './trunk';
export { MlpNetwork, createPredictor, createProjector } from './mlp';
export type { MlpDims, PredictorConfig, ProjectorConfig } from './mlp';
export { SiameseNet } from './siamese';
export type { OnlineOutputs, SiameseConfig, TensorSource } from './siamese';
export { CheckpointError, loadCheckpoint, saveCheckpoint, storedToTensor } from './checkpoint';
export type { Checkpoint, CheckpointDtype, StoredTensor } from './checkpoint';
