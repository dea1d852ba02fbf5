// Public API of @unigrad/losses: every method's original loss and gradient (surrogate) form, mm and no_mm.
export {
  METHODS,
  PAPER_EMBEDDING_DIM,
  branchesFor,
  defaultHyper,
  getMethod,
  hyperKeysFor,
  isMethodName,
  listMethods,
  methodNames,
  registerMethod,
  unregisterMethod,
} from './registry';
export type { HyperContext } from './registry';
export type { Branches, CellSpec, Form, Hyper, LossInputs, LossOutput, Method, MethodName, MethodState, OriginalNeeds, RowSpec, TargetMode, Variant } from './types';
export { HYPER_KEYS, HYPER_RULES, LossInputError, constant, gradientViews, hyperProblem, normalizeRows, positiveSimilarity, stopGradient, surrogate, targetCorrelation, updateF } from './common';
export { mixTargets } from './cutmix';
export { maxEigenvalueSym, sqrtPsdUnit } from './linalg';
export { directPredMatrices } from './directpred';
export { evaluateWithInputGradients } from './evaluate';
export type { DifferentiableInput, EvaluatedLoss, Matrix } from './evaluate';
