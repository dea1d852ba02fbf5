// Public API of @unigrad/eval: frozen features, the linear probe (fast and paper protocols), top-k, the kNN
// monitor and the baselines (raw pixels, random encoder, supervised).
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
export type { PaperProbeData, ProbeEvaluation, ProbeOptions, ProbeProtocol, ProbeResult } from './probe';
export { pixelTrunk, trainSupervised } from './baselines';
export type { SupervisedOptions, SupervisedResult } from './baselines';
export { effectiveRank, singularValues } from './rank';
