// MLflow server-side limits (mlflow/utils/validation.py, MLflow 3.x). Requests beyond them are rejected with
// INVALID_PARAMETER_VALUE, so the client splits and validates before sending.
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** MAX_BATCH_LOG_REQUEST_SIZE = int(1e6) bytes of JSON body. */
  batchBodyBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  datasetNameLength: 500,
  datasetDigestLength: 36,
} as const;

// Keys may contain alphanumerics, underscores, dashes, periods, spaces and slashes (MLflow's _VALID_PARAM_AND_METRIC_NAMES).
const VALID_KEY = /^[/\w.\- ]*$/;

export function validateKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  if (key.length === 0) throw new Error(`tracking: empty ${kind} key. Give the ${kind} a name.`);
  if (key.length > MLFLOW_LIMITS.keyLength) {
    throw new Error(`tracking: ${kind} key '${key.slice(0, 40)}…' has ${key.length} characters; MLflow allows ${MLFLOW_LIMITS.keyLength}. Shorten it.`);
  }
  if (!VALID_KEY.test(key)) {
    throw new Error(`tracking: ${kind} key '${key}' has characters MLflow rejects; use letters, digits, '_', '-', '.', ' ' and '/'.`);
  }
  if (key.split('/').some((part) => part === '..' || part === '.') || key.startsWith('/')) {
    throw new Error(`tracking: ${kind} key '${key}' is not a normalised path; remove '.', '..' and leading '/'.`);
  }
}

export function validateParamValue(key: string, value: string): void {
  if (value.length > MLFLOW_LIMITS.paramValueLength) {
    throw new Error(`tracking: param '${key}' has a ${value.length}-character value; MLflow allows ${MLFLOW_LIMITS.paramValueLength}. Log it as an artifact instead.`);
  }
}

export function validateTagValue(key: string, value: string): void {
  if (value.length > MLFLOW_LIMITS.tagValueLength) {
    throw new Error(`tracking: tag '${key}' has a ${value.length}-character value; MLflow allows ${MLFLOW_LIMITS.tagValueLength}. Log it as an artifact instead.`);
  }
}

export function validateMetricValue(key: string, value: number, step: number): void {
  if (typeof value !== 'number') throw new Error(`tracking: metric '${key}' at step ${step} is ${typeof value}, not a number.`);
  if (!Number.isInteger(step) || step < 0) throw new Error(`tracking: metric '${key}' has step ${step}; steps must be non-negative integers.`);
}
