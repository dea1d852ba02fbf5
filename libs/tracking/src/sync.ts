// `npm run mlflow:sync`: replays the embedded store into an MLflow server. Delivery is incremental and recorded
// per run (see delivery.ts), so re-running it sends nothing twice. Runs of dead processes are marked KILLED first
// (dead-runs.ts), a run created on the server gets its true end status at once (never left RUNNING by an
// interrupted sync), and an artifact whose copy is missing from the store is a warning, not an error.
import { reapDeadRuns, type ReapedRun } from './dead-runs';
import { deliverRun, indexRemoteRuns, readSyncState, withRetry, type DeliveryContext, type DeliveryResult, type RetryOptions } from './delivery';
import { isRetryable, MlflowClient, type FetchLike } from './mlflow-client';
import { registerCellModels, type RegisteredVersion } from './model-registry';
import { RunStore } from './store';
import type { RunStatus } from './types';

export interface SyncProgress {
  /** 1-based position and total, for "[12/138]". */
  index: number;
  total: number;
  id: string;
  runName: string;
  status: RunStatus;
  remoteRunId: string | undefined;
  requests: number;
  warnings: string[];
  busy: boolean;
  /** Set when this run could not be delivered (the sync goes on with the next run). */
  error?: string;
}

export interface SyncSummary {
  runs: number;
  /** Runs that needed at least one request. */
  updated: number;
  requests: number;
  /** Runs another process was delivering at the time (try again later). */
  busy: string[];
  /** local run id -> MLflow run id. */
  mapping: Record<string, string>;
  /** Every warning (e.g. an artifact skipped because its copy is not in the store). */
  warnings: string[];
  /** Runs that could not be delivered for a reason retrying does not fix (damaged log, refused run). */
  failed: Array<{ id: string; error: string }>;
  /** Model versions registered by this sync (row runs tagged with MODEL_TAGS.registeredName). */
  registered?: RegisteredVersion[];
  /** Runs of dead processes marked KILLED before the sync. */
  reaped: ReapedRun[];
  /** Experiment name -> its page in the MLflow UI's model-training view (see `mlflowExperimentUrl`). */
  experimentUrls: Record<string, string>;
}

/**
 * The page of an experiment (and optionally a run) in the MLflow UI, in its model-training view. MLflow 3.x's UI
 * chooses between its GenAI and model-training views by the `workflowType` query parameter or the browser's last
 * choice (GenAI on a fresh browser), not by the experiment's `mlflow.experimentKind` tag, so links carry it.
 */
export function mlflowExperimentUrl(trackingUri: string, experimentId: string, runId?: string): string {
  const base = `${trackingUri.replace(/\/+$/, '')}/#/experiments/${encodeURIComponent(experimentId)}`;
  return `${base}${runId ? `/runs/${encodeURIComponent(runId)}` : ''}?workflowType=machine_learning`;
}

export interface SyncOptions {
  storeDir?: string;
  trackingUri: string;
  fetch?: FetchLike;
  /** Retry of transient failures (network, 5xx) per run; once it gives up, the sync stops with that error. */
  retry?: RetryOptions;
  log?: (m: string) => void;
  /** Called after each run. */
  onProgress?: (p: SyncProgress) => void;
  /** Mark RUNNING runs of dead processes on this host KILLED before syncing (default true). */
  reapDeadRuns?: boolean;
  requestTimeoutMs?: number;
}

/**
 * Delivers every run of the store. Throws only when the server stays unreachable or failing past the retry
 * deadline (what was delivered so far is recorded); per-run permanent failures are collected in `failed`.
 */
export async function syncStore(options: SyncOptions): Promise<SyncSummary> {
  const store = new RunStore(options.storeDir);
  const client = new MlflowClient({ trackingUri: options.trackingUri, fetch: options.fetch, timeoutMs: options.requestTimeoutMs });
  const ctx: DeliveryContext = { store, client, log: options.log };
  const reaped = options.reapDeadRuns === false ? [] : reapDeadRuns({ store, log: options.log });
  const summary: SyncSummary = { runs: 0, updated: 0, requests: 0, busy: [], mapping: {}, warnings: [], failed: [], reaped, experimentUrls: {} };
  const ids = store.listRunIds();
  // Parents before children, so a parent is created by its own delivery (under its own lock), not a child's.
  // One run at a time: a single-worker sqlite server answers no faster with more requests in flight.
  const parentOf = new Map<string, string | undefined>();
  const experiments = new Set<string>();
  const allExperiments = new Set<string>();
  for (const id of ids) {
    try {
      const first = store.readRunEvent(id);
      parentOf.set(id, first?.parentId);
      if (first) allExperiments.add(first.experiment);
      // Only experiments with runs this server has not seen from us need the index.
      if (first && !readSyncState(store, id)[client.trackingUri]) experiments.add(first.experiment);
    } catch {
      parentOf.set(id, undefined); // reported when its delivery fails below
    }
  }
  const depth = (id: string, seen = 0): number => {
    const p = parentOf.get(id);
    return p && parentOf.has(p) && seen < 32 ? 1 + depth(p, seen + 1) : 0;
  };
  const levels: string[][] = [];
  for (const id of ids) (levels[depth(id)] ??= []).push(id);
  // One search per experiment instead of one per run to find runs an earlier, interrupted sync created.
  if (experiments.size > 0) await withRetry(() => indexRemoteRuns(ctx, experiments), options.retry);

  let done = 0;
  const one = async (id: string): Promise<void> => {
    let runName = '';
    let status: RunStatus = 'RUNNING';
    let r: DeliveryResult | undefined;
    let error: string | undefined;
    try {
      const local = store.readRun(id);
      runName = local.runName;
      status = local.status;
      r = await withRetry(() => deliverRun(ctx, id), options.retry);
    } catch (err) {
      if (isRetryable(err)) throw err; // the server is gone: no point trying the other runs
      error = (err as Error).message;
      summary.failed.push({ id, error });
    }
    summary.runs++;
    if (r) {
      if (r.busy) summary.busy.push(id);
      if (r.requests > 0) summary.updated++;
      summary.requests += r.requests;
      if (r.remoteRunId) summary.mapping[id] = r.remoteRunId;
      summary.warnings.push(...r.warnings);
    }
    options.onProgress?.({
      index: ++done, total: ids.length, id, runName, status, remoteRunId: r?.remoteRunId,
      requests: r?.requests ?? 0, warnings: r?.warnings ?? [], busy: r?.busy ?? false, error,
    });
  };
  for (const level of levels) for (const id of level ?? []) await one(id);
  // The table cells' encoders as registered model versions (model-registry.ts), once their runs are delivered.
  summary.registered = await withRetry(() => registerCellModels(store, client, options.log), options.retry);
  // Every experiment of the store, delivered now or by an earlier sync (then its id is looked up once).
  for (const name of allExperiments) {
    const id = ctx.experimentIds?.get(name) ?? (await withRetry(() => client.getExperimentByName(name), options.retry))?.experiment_id;
    if (id) summary.experimentUrls[name] = mlflowExperimentUrl(options.trackingUri, id);
  }
  return summary;
}
