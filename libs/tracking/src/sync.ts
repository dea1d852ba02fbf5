// `npm run mlflow:sync`: replays the embedded store into an MLflow server. Delivery is incremental and recorded
// per run (see delivery.ts), so re-running it sends nothing twice.
import { deliverRun, withRetry, type DeliveryContext, type RetryOptions } from './delivery';
import { MlflowClient, type FetchLike } from './mlflow-client';
import { RunStore } from './store';

export interface SyncSummary {
  runs: number;
  /** Runs that needed at least one request. */
  updated: number;
  requests: number;
  /** Runs another process was delivering at the time (try again later). */
  busy: string[];
  /** local run id -> MLflow run id. */
  mapping: Record<string, string>;
}

export async function syncStore(
  options: { storeDir?: string; trackingUri: string; fetch?: FetchLike; retry?: RetryOptions; log?: (m: string) => void },
): Promise<SyncSummary> {
  const store = new RunStore(options.storeDir);
  const client = new MlflowClient({ trackingUri: options.trackingUri, fetch: options.fetch });
  const ctx: DeliveryContext = { store, client, log: options.log };
  const summary: SyncSummary = { runs: 0, updated: 0, requests: 0, busy: [], mapping: {} };
  for (const id of store.listRunIds()) {
    const r = await withRetry(() => deliverRun(ctx, id), options.retry);
    summary.runs++;
    if (r.busy) summary.busy.push(id);
    if (r.requests > 0) summary.updated++;
    summary.requests += r.requests;
    if (r.remoteRunId) summary.mapping[id] = r.remoteRunId;
  }
  return summary;
}
