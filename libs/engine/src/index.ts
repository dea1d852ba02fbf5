// Public API of @unigrad/engine: the pretraining loop and its pure step, the table cells (pretrain → probe →
// tracking), the probes and baselines, and checkpoint metadata. Apps and tools are thin mains over this.
export { pretrain, defaultRunName, runDir, scheduleOf, stepSeed, NonFiniteLossError } from './train';
export type { PretrainHooks, PretrainOptions, PretrainResult } from './train';
export type { StepMetrics } from './metrics';
export { trainStep, disposeState } from './step';
export type { StepOutcome, StepSchedule } from './step';
export { buildTraining, disposeTraining, trunkConfigFor } from './setup';
export type { StepContext, Training } from './setup';
export { augmentConfigFor, makeAugmenter } from './views';
export { applyCutMix, drawCutMix } from './cutmix';
export type { CutMixDraw } from './cutmix';
export { datasetChannels, openDataset } from './datasets';
export { datasetFeatures, evalImageTransform, knnMonitor } from './features';
export { loadTrunkFromCheckpoint, pretrainMeta, restoreTrainingState, saveTrainingState } from './checkpoint';
export type { CheckpointMeta } from './checkpoint';
export { runTags, trackedPretrain } from './tracked-pretrain';
export type { TrackedPretrainOptions, TrackedPretrainResult } from './tracked-pretrain';
export { baselineTrunk, probeLabel, probeTrunk } from './probe';
export { probeMetrics, trackedProbe } from './tracked-probe';
export type { TrackedProbeOptions } from './tracked-probe';
export { cellTags, isComplete, runCell } from './cell';
export type { CellOutcome } from './cell';
export { runTableCells, selectSeeds } from './table-run';
export type { CellJob, TableRunOptions, TableRunResult } from './table-run';
export { Progress, formatDuration } from './progress';
export { GradCompareAccumulator, QUANTITY as GRAD_COMPARE_QUANTITY, REFERENCE_ID as GRAD_COMPARE_REFERENCE, allCosines, clipCosine, decompose as decomposeGradient, entrySpecs, gradCompareBatch, gradCompareCheckpoint, heatmapSvg, hyperFor, lineChartSvg, markdownSection } from './grad-compare';
export type { BatchEmbeddings, CompareOptions, CompareStates, ContextGradients, ContextReport, EntryGradient, EntryReport, EntrySpec, GradCompareRecord, GradCompareVariant, MeasureOptions } from './grad-compare';
