// Public API of @unigrad/losses: every method's original loss and gradient (surrogate) form, mm and no_mm.
export { METHODS, getMethod, isMethodName } from './registry';
export { METHOD_NAMES } from './types';
export type { Form, Hyper, LossInputs, LossOutput, Method, MethodName, MethodState, OriginalNeeds, TargetMode } from './types';
export { LossInputError, constant, normalizeRows, stopGradient, targetCorrelation, updateF } from './common';
export { mixTargets } from './cutmix';
export { maxEigenvalueSym, sqrtPsdUnit } from './linalg';
export { directPredMatrices } from './directpred';
export { evaluateWithInputGradients } from './evaluate';
export type { DifferentiableInput, EvaluatedLoss, Matrix } from './evaluate';
