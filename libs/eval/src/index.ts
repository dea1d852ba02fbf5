// Public API of @unigrad/eval: frozen features, feature standardisation, the linear probes (the converged
// logistic-regression probe with validation selection; the LARS probe in its fast and paper protocols), top-k, the
// kNN monitor and the baselines (raw pixels, random encoder, supervised).
export type { BatchSource, FeatureSet, ImageTransform, LabeledBatch } from './batches';
export { extractFeatures } from './features';
export type { ExtractOptions } from './features';
export { countTopKCorrect, topKAccuracy } from './accuracy';
export { knnAccuracy, knnScores } from './knn';
export type { KnnOptions, TopKResult } from './knn';
export { knnMonitor } from './knn-monitor';
export type { KnnMonitorOptions } from './knn-monitor';
export { LinearHead } from './linear-head';
export type { LinearHeadOptions } from './linear-head';
export { crossEntropy } from './train-step';
export { evaluateClassifier, trainLinearProbe, trainLinearProbeOnFeatures } from './probe';
export type { FeatureProbeOptions, PaperProbeData, ProbeEvaluation, ProbeOptions, ProbeProtocol, ProbeResult } from './probe';
export { fitStandardizer, standardizeFeatures } from './standardize';
export type { FeatureStandardizer, StandardizeOptions } from './standardize';
export { minimizeLbfgs } from './lbfgs';
export type { LbfgsOptions, LbfgsResult, LbfgsStopReason, Objective } from './lbfgs';
export { evaluateLogistic, fitLogisticRegression, logisticScores } from './logistic';
export type { LogisticFit, LogisticFitOptions, LogisticFitSummary, LogisticModel } from './logistic';
export { DEFAULT_L2_GRID, evaluateLogisticProbe, fitLogisticProbe, reexpress, selectLogisticProbe, splitValidation } from './logistic-probe';
export type {
  LogisticProbe,
  LogisticProbeFitEvent,
  LogisticProbeGridEntry,
  LogisticProbeOptions,
  LogisticProbeResult,
  ValidationSplit,
} from './logistic-probe';
export { pixelTrunk, trainSupervised } from './baselines';
export type { SupervisedOptions, SupervisedResult } from './baselines';
export { effectiveRank, singularValues } from './rank';
