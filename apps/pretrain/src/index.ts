export { DRY_RUN, exitWithError, parseCommandLine, readConfigFile } from './cli';
export type { ParsedCommandLine } from './cli';
export { datasetChannels, openDataset, syntheticDataset } from './datasets';
export { datasetFeatures, evalImageTransform, knnMonitor } from './features';
export { runTags, trackedPretrain } from './run';
export type { TrackedPretrainOptions, TrackedPretrainResult } from './run';
export { NonFiniteLossError, branchesFor, defaultRunName, methodHyper, pretrain, pretrainMeta, runDir, trunkConfigFor } from './train';
export type { CheckpointMeta, PretrainOptions, PretrainResult, StepMetrics } from './train';
export { Progress, formatDuration } from './progress';
