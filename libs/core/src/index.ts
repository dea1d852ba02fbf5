export {
  BACKEND_NAMES,
  BackendUnavailableError,
  backendFromEnv,
  currentBackend,
  describeBackend,
  initBackend,
  onBackendSelected,
  wasmBinaryDir,
} from './backend';
export type { BackendChoice, BackendName, InitBackendOptions } from './backend';
export { Rng } from './rng';
export type { RngState } from './rng';
export { writeFileAtomic, writeJsonAtomic } from './atomic';
export { WASM_TRAINING_KERNELS, conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad, registerWasmTrainingKernels } from './wasm-kernels';
export { initWasmWithThreads, wasmThreadPlan, wasmThreadsFromEnv } from './wasm-threads';
export type { WasmThreadPlan } from './wasm-threads';
export { relativeError } from './numeric';
