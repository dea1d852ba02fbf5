// Reading runs back, from either source, as TrackedRun records (for the results table and for checks).
import { MlflowClient, type FetchLike } from './mlflow-client';
import { RunStore } from './store';
import type { TrackedRun } from './types';

export type RunSource =
  | { source: 'embedded'; storeDir?: string; withHistory?: boolean }
  | { source: 'mlflow'; trackingUri: string; experiments?: string[]; withHistory?: boolean; fetch?: FetchLike };

export async function listRuns(src: RunSource): Promise<TrackedRun[]> {
  if (src.source === 'embedded') return new RunStore(src.storeDir).listRuns(src.withHistory ?? false);
  const client = new MlflowClient({ trackingUri: src.trackingUri, fetch: src.fetch });
  const experiments = (await client.searchExperiments()).filter(
    (e) => e.lifecycle_stage !== 'deleted' && (!src.experiments || src.experiments.includes(e.name)),
  );
  const out: TrackedRun[] = [];
  for (const exp of experiments) {
    for (const run of await client.searchRuns([exp.experiment_id])) out.push(await client.readRun(run, exp.name, src.withHistory ?? false));
  }
  return out;
}
