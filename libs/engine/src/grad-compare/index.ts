// Public API of the gradient comparison (issue 17): how close each method's gradient is to UniGrad's.
export { REFERENCE_ID, TARGET_MODES, gradCompareBatch, entrySpecs, tangentRows } from './gradients';
export type { BatchEmbeddings, CompareOptions, CompareStates, ContextGradients, EntryGradient, EntrySpec, Variant as GradCompareVariant } from './gradients';
export { GradCompareAccumulator, allCosines } from './report';
export type { ContextReport, EntryReport } from './report';
export { QUANTITY, hyperFor, gradCompareCheckpoint } from './measure';
export type { GradCompareRecord, MeasureOptions } from './measure';
export { cosineColor, heatmapSvg, lineChartSvg, markdownSection } from './render';
export { clipCosine, cosine, decompose, tangent } from './vectors';
export type { Decomposition, Rows } from './vectors';
