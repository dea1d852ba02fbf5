// Public API of @unigrad/cluster: submit work to SLURM as a job array plus a dependent job, and query it.
export { ClusterError } from './errors';
export type { ClusterErrorCode } from './errors';
export {
  ARRAY_JOB_ID_PLACEHOLDER,
  DEFAULT_SIGNAL,
  arrayRange,
  renderAfterScript,
  renderArrayScript,
  renderTasksFile,
  shellQuote,
} from './render';
export type { AfterScriptInput, ArrayScriptInput, SbatchResources } from './render';
export { followCommands, missingEnv, submitArray, validateSpec } from './submit';
export type { AfterSpec, ArraySpec, RenderedFile, Submission } from './submit';
export {
  TERMINAL_STATES,
  allEnded,
  cancelJobs,
  clusterStatus,
  describeJob,
  findOnPath,
  jobInfo,
  listPartitions,
  parseScontrolJobs,
  partitionExists,
  requeueJob,
  waitFor,
  waitForJobs,
} from './slurm';
export type { ClusterStatus, Env, JobInfo, Partition, WaitOptions } from './slurm';
