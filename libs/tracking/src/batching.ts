// Splitting a run's pending params/tags/metrics into `runs/log-batch` requests that each respect MLflow's limits.
import { MLFLOW_LIMITS } from './limits';
import type { KeyValue, MetricPoint } from './types';

export interface LogBatchBody {
  run_id: string;
  metrics: MetricJson[];
  params: KeyValue[];
  tags: KeyValue[];
}

export interface BatchLimits {
  metricsPerBatch: number;
  paramsPerBatch: number;
  tagsPerBatch: number;
  entitiesPerBatch: number;
  batchBodyBytes: number;
}

export type BatchEntity =
  | { kind: 'metric'; metric: MetricPoint }
  | { kind: 'param'; param: KeyValue }
  | { kind: 'tag'; tag: KeyValue };

/** JSON can not carry NaN/±Infinity; MLflow's REST API accepts them as the strings "NaN", "Infinity", "-Infinity". */
export interface MetricJson {
  key: string;
  value: number | 'NaN' | 'Infinity' | '-Infinity';
  timestamp: number;
  step: number;
}

export function metricToJson(m: MetricPoint): MetricJson {
  const value = Number.isFinite(m.value) ? m.value : Number.isNaN(m.value) ? 'NaN' : m.value > 0 ? 'Infinity' : '-Infinity';
  return { key: m.key, value, timestamp: Math.round(m.timestamp), step: m.step };
}

function entityBytes(e: BatchEntity): number {
  const json = e.kind === 'metric' ? metricToJson(e.metric) : e.kind === 'param' ? e.param : e.tag;
  return Buffer.byteLength(JSON.stringify(json), 'utf8') + 1; // + separating comma
}

/**
 * Greedy, order-preserving split of `entities` into consecutive groups, each within the per-kind counts, the
 * total entity count and the body size (including the `{run_id, metrics, params, tags}` envelope).
 * Returns the groups as index ranges [start, end) into `entities`, so callers can record delivery progress.
 */
export function splitIntoBatches(
  runId: string,
  entities: readonly BatchEntity[],
  limits: BatchLimits = MLFLOW_LIMITS,
): Array<{ start: number; end: number }> {
  const envelope = Buffer.byteLength(JSON.stringify({ run_id: runId, metrics: [], params: [], tags: [] }), 'utf8');
  const ranges: Array<{ start: number; end: number }> = [];
  let start = 0;
  let counts = { metric: 0, param: 0, tag: 0 };
  let bytes = envelope;
  // MLflow rejects a batch that names one param (or tag) twice, so a repeated key starts a new batch.
  let keys = new Set<string>();
  for (let i = 0; i < entities.length; i++) {
    const e = entities[i];
    const size = entityBytes(e);
    if (envelope + size > limits.batchBodyBytes) {
      throw new Error(`tracking: one ${e.kind} alone needs ${envelope + size} bytes, over MLflow's ${limits.batchBodyBytes}-byte request limit.`);
    }
    const perKind = e.kind === 'metric' ? limits.metricsPerBatch : e.kind === 'param' ? limits.paramsPerBatch : limits.tagsPerBatch;
    const total = counts.metric + counts.param + counts.tag;
    const keyId = e.kind === 'param' ? `p:${e.param.key}` : e.kind === 'tag' ? `t:${e.tag.key}` : '';
    const repeated = keyId !== '' && keys.has(keyId);
    if (
      i > start &&
      (repeated || counts[e.kind] + 1 > perKind || total + 1 > limits.entitiesPerBatch || bytes + size > limits.batchBodyBytes)
    ) {
      ranges.push({ start, end: i });
      start = i;
      counts = { metric: 0, param: 0, tag: 0 };
      bytes = envelope;
      keys = new Set();
    }
    if (keyId !== '') keys.add(keyId);
    counts[e.kind]++;
    bytes += size;
  }
  if (start < entities.length) ranges.push({ start, end: entities.length });
  return ranges;
}

/** The request body for one range produced by `splitIntoBatches`. */
export function batchBody(runId: string, entities: readonly BatchEntity[]): LogBatchBody {
  const body: LogBatchBody = { run_id: runId, metrics: [], params: [], tags: [] };
  for (const e of entities) {
    if (e.kind === 'metric') body.metrics.push(metricToJson(e.metric));
    else if (e.kind === 'param') body.params.push(e.param);
    else body.tags.push(e.tag);
  }
  return body;
}
