// Shapes shared by the REST client, the embedded store, sync and the results table.

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricPoint {
  key: string;
  value: number;
  /** Milliseconds since the epoch, taken when the value was logged (not when it was delivered). */
  timestamp: number;
  step: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** A dataset used by a run, as MLflow's `runs/log-inputs` expects it. */
export interface DatasetInput {
  name: string;
  /** Short content hash (MLflow allows at most 36 characters). */
  digest: string;
  /** Where the data came from, e.g. 'local' or 'http'. */
  sourceType: string;
  /** JSON string describing the source, e.g. '{"path":"/usr/share/..."}'. */
  source: string;
  schema?: string;
  profile?: string;
  /** 'training', 'validation', 'test', ... (stored as the input tag `mlflow.data.context`). */
  context?: string;
}

/** One run as read back from the embedded store or from an MLflow server. */
export interface TrackedRun {
  id: string;
  experiment: string;
  runName: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  /** `mlflow.parentRunId` of this run (an id in the same source), if nested. */
  parentId?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric (highest step, then latest timestamp), as MLflow reports it. */
  metrics: Record<string, number>;
  /** Full metric histories, when the reader was asked for them. */
  metricHistory?: Record<string, MetricPoint[]>;
}
