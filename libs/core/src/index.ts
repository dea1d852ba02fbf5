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
