// Public API of @unigrad/optimizers: SGD and LARS over named variables, and the official schedules.
export { SGD } from './sgd';
export type { GradMap, Optimizer, SgdOptions } from './sgd';
export { LARS, isBiasOrNormParam } from './lars';
export type { LarsOptions, ParamPredicate } from './lars';
export { cosinePerEpochLr, momentumSchedule, scaleLr, warmupCosineLr } from './schedules';
export type { CosinePerEpochOptions, MomentumScheduleOptions, WarmupCosineOptions } from './schedules';
