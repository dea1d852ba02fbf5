// A typed client over MLflow's REST API (/api/2.0/mlflow/...) using Node's built-in fetch. One call = one HTTP
// request; the only retry here is the immediate re-send of a request that died on a stale keep-alive
// connection (see `isStaleConnection`). Retrying with backoff, spooling and batching policy live in delivery.ts.
import { MLFLOW_LIMITS } from './limits';
import { batchBody, splitIntoBatches, type BatchEntity } from './batching';
import type { DatasetInput, KeyValue, MetricPoint, RunStatus, TrackedRun } from './types';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** An HTTP answer from the server that is not 2xx. `errorCode` is MLflow's `error_code` when the body has one. */
export class MlflowHttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    readonly body: string,
  ) {
    super(`MLflow ${method} ${url} -> HTTP ${status}${errorCode ? ` ${errorCode}` : ''}: ${body.slice(0, 500)}`);
    this.name = 'MlflowHttpError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Worth retrying later: the network (fetch's TypeError 'fetch failed', refused/reset connections, DNS), request
 * timeouts, and the server's 5xx/429/408. Everything else is permanent: other 4xx refusals, and local errors
 * (a missing file, a damaged store), which no amount of waiting fixes.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof MlflowHttpError) return err.status >= 500 || err.status === 429 || err.status === 408;
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  const code = errorCode(err);
  return code !== undefined && NETWORK_CODES.has(code);
}

/**
 * A request that failed because the pooled keep-alive connection had already been closed by the server (uvicorn
 * closes idle connections after 5 s; when the event loop was busy, undici had not yet seen the close and wrote the
 * request onto the dead socket: 'fetch failed', cause 'other side closed'). The server never read such a request,
 * so sending it once more on a fresh connection is safe.
 */
export function isStaleConnection(err: unknown): boolean {
  if (!(err instanceof TypeError) || err.message !== 'fetch failed') return false;
  const code = errorCode(err);
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED';
}

export interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage?: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: {
    metrics?: Array<{ key: string; value: number | string; timestamp: number; step: number }>;
    params?: KeyValue[];
    tags?: KeyValue[];
  };
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  artifact_location?: string;
  tags?: KeyValue[];
}

/**
 * MLflow 3's record of what an experiment is for (`custom_model_development` = model training). Its 3.17 UI does not
 * pick its view from it (a fresh browser opens GenAI): links carry `?workflowType=machine_learning` (mlflowExperimentUrl).
 */
export const EXPERIMENT_KIND_TAG = 'mlflow.experimentKind';

/** Tags of the experiments this project creates: the model-training kind and a description (`mlflow.note.content`). */
export function experimentTags(name: string): KeyValue[] {
  const preset = name.startsWith('unigrad-') ? name.slice('unigrad-'.length) : undefined;
  const description = preset
    ? `UniGrad-TS (CVPR 2022 UniGrad reproduction), preset "${preset}": one row run per table cell and seed, with its pretraining and linear-probe runs nested under it. Group by the tag unigrad.cell for the results table.`
    : `UniGrad-TS runs (CVPR 2022 UniGrad reproduction).`;
  return [
    { key: EXPERIMENT_KIND_TAG, value: 'custom_model_development' },
    { key: 'mlflow.note.content', value: description },
  ];
}

export interface MlflowClientOptions {
  /** e.g. http://127.0.0.1:5000 (MLFLOW_TRACKING_URI). */
  trackingUri: string;
  fetch?: FetchLike;
  /** Per-request timeout; a hung server must not hang training. */
  timeoutMs?: number;
}

function parseMetricValue(v: number | string): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v);
}

export class MlflowClient {
  readonly trackingUri: string;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;

  constructor(options: MlflowClientOptions) {
    if (!/^https?:\/\//.test(options.trackingUri)) {
      throw new Error(`tracking: MLFLOW_TRACKING_URI '${options.trackingUri}' is not an http(s) URL. Use e.g. http://127.0.0.1:5000 (start one with \`npm run mlflow\`).`);
    }
    this.trackingUri = options.trackingUri.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * The request timeout as an abort signal that fires only after the event loop has had a turn past the
   * deadline: when the loop was blocked (a training step that does not yield) the answer may be sitting in the
   * socket already, and a plain AbortSignal.timeout would fire before it is read (timers run before I/O).
   */
  private deadline(): { signal: AbortSignal; clear: () => void } {
    const ac = new AbortController();
    const abort = () => ac.abort(new DOMException(`no answer within ${this.timeoutMs} ms`, 'TimeoutError'));
    let timer: NodeJS.Timeout = setTimeout(() => (timer = setTimeout(abort, 50)), this.timeoutMs);
    return { signal: ac.signal, clear: () => clearTimeout(timer) };
  }

  /**
   * One request and its whole body. Re-sent at once (up to 3 times, each on a fresh or another pooled
   * connection) only when it died on a stale keep-alive connection and `resend` allows it.
   */
  private async exchange(url: string, init: RequestInit, resend: boolean): Promise<{ res: Response; bytes: Buffer }> {
    for (let attempt = 0; ; attempt++) {
      const { signal, clear } = this.deadline();
      try {
        const res = await this.fetchFn(url, { ...init, signal });
        return { res, bytes: Buffer.from(await res.arrayBuffer()) };
      } catch (err) {
        if (!resend || attempt >= 3 || !isStaleConnection(err)) throw err;
      } finally {
        clear();
      }
    }
  }

  /**
   * `resend: false` for requests that are not safe to repeat (runs/create: a second copy of the run); those
   * fail on a stale connection and the caller's delivery pass finds the run by its tag before creating again.
   */
  private async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, raw?: Uint8Array, resend = true): Promise<T> {
    const url = `${this.trackingUri}${path}`;
    const init: RequestInit = { method };
    if (raw) {
      init.body = raw;
      init.headers = { 'Content-Type': 'application/octet-stream' };
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const { res, bytes } = await this.exchange(url, init, resend);
    const text = bytes.toString('utf8');
    if (!res.ok) {
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { error_code?: string }).error_code;
      } catch {
        code = undefined;
      }
      throw new MlflowHttpError(method, url, res.status, code, text);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  private api<T>(method: 'GET' | 'POST', endpoint: string, body?: unknown, resend = true): Promise<T> {
    return this.request<T>(method, `/api/2.0/mlflow/${endpoint}`, body, undefined, resend);
  }

  async getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const r = await this.api<{ experiment: MlflowExperiment }>('GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      return r.experiment;
    } catch (err) {
      if (err instanceof MlflowHttpError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  /**
   * Get-or-create that tolerates another process creating the same experiment between our get and create. A new
   * experiment gets the experiment kind (model training) and a description; an existing one without
   * `mlflow.experimentKind` gets the tags set.
   */
  async getOrCreateExperiment(name: string): Promise<string> {
    if (name.length === 0 || name.length > MLFLOW_LIMITS.experimentNameLength) {
      throw new Error(`tracking: experiment name must have 1..${MLFLOW_LIMITS.experimentNameLength} characters, got ${name.length}.`);
    }
    const existing = await this.getExperimentByName(name);
    if (existing) {
      if (existing.lifecycle_stage === 'deleted') {
        await this.api('POST', 'experiments/restore', { experiment_id: existing.experiment_id });
      }
      if (!existing.tags?.some((t) => t.key === EXPERIMENT_KIND_TAG)) {
        const has = new Set((existing.tags ?? []).map((t) => t.key));
        for (const tag of experimentTags(name)) {
          if (!has.has(tag.key)) await this.api('POST', 'experiments/set-experiment-tag', { experiment_id: existing.experiment_id, key: tag.key, value: tag.value });
        }
      }
      return existing.experiment_id;
    }
    try {
      const r = await this.api<{ experiment_id: string }>('POST', 'experiments/create', { name, tags: experimentTags(name) });
      return r.experiment_id;
    } catch (err) {
      if (err instanceof MlflowHttpError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const raced = await this.getExperimentByName(name);
        if (raced) return raced.experiment_id;
      }
      throw err;
    }
  }

  /** A version of registered model `name` (created if missing) from `source` (e.g. the run's artifact URI + `/model`). */
  async createModelVersion(args: { name: string; source: string; runId: string; description?: string; tags?: KeyValue[] }): Promise<{ name: string; version: string }> {
    try {
      await this.api('POST', 'registered-models/create', { name: args.name, description: args.description });
    } catch (err) {
      if (!(err instanceof MlflowHttpError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
    const r = await this.api<{ model_version: { name: string; version: string } }>('POST', 'model-versions/create', {
      name: args.name, source: args.source, run_id: args.runId, description: args.description, tags: args.tags,
    });
    return { name: r.model_version.name, version: String(r.model_version.version) };
  }

  async searchExperiments(): Promise<MlflowExperiment[]> {
    const out: MlflowExperiment[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.api<{ experiments?: MlflowExperiment[]; next_page_token?: string }>('POST', 'experiments/search', {
        max_results: 1000,
        page_token: pageToken,
      });
      out.push(...(r.experiments ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async createRun(args: { experimentId: string; runName?: string; startTime: number; tags: KeyValue[] }): Promise<MlflowRunInfo> {
    const r = await this.api<{ run: MlflowRun }>(
      'POST',
      'runs/create',
      { experiment_id: args.experimentId, run_name: args.runName, start_time: Math.round(args.startTime), tags: args.tags },
      false,
    );
    return r.run.info;
  }

  async updateRun(runId: string, status: RunStatus, endTime?: number): Promise<void> {
    await this.api('POST', 'runs/update', { run_id: runId, status, end_time: endTime === undefined ? undefined : Math.round(endTime) });
  }

  async getRun(runId: string): Promise<MlflowRun> {
    return (await this.api<{ run: MlflowRun }>('GET', `runs/get?run_id=${encodeURIComponent(runId)}`)).run;
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.api('POST', 'runs/set-tag', { run_id: runId, key, value });
  }

  /** One `runs/log-batch` request; the caller keeps it within MLflow's limits (see `logBatch`). */
  async logBatchRaw(runId: string, entities: readonly BatchEntity[]): Promise<void> {
    await this.api('POST', 'runs/log-batch', batchBody(runId, entities));
  }

  /** Logs any number of metrics/params/tags, split into as many `runs/log-batch` requests as the limits need. */
  async logBatch(runId: string, data: { metrics?: MetricPoint[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<number> {
    const entities: BatchEntity[] = [
      ...(data.params ?? []).map((param) => ({ kind: 'param' as const, param })),
      ...(data.tags ?? []).map((tag) => ({ kind: 'tag' as const, tag })),
      ...(data.metrics ?? []).map((metric) => ({ kind: 'metric' as const, metric })),
    ];
    const ranges = splitIntoBatches(runId, entities);
    for (const { start, end } of ranges) await this.logBatchRaw(runId, entities.slice(start, end));
    return ranges.length;
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.api('POST', 'runs/log-inputs', {
      run_id: runId,
      datasets: datasets.map((d) => ({
        tags: d.context ? [{ key: 'mlflow.data.context', value: d.context }] : [],
        dataset: { name: d.name, digest: d.digest, source_type: d.sourceType, source: d.source, schema: d.schema, profile: d.profile },
      })),
    });
  }

  async searchRuns(experimentIds: string[], filter?: string): Promise<MlflowRun[]> {
    const out: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.api<{ runs?: MlflowRun[]; next_page_token?: string }>('POST', 'runs/search', {
        experiment_ids: experimentIds,
        filter,
        max_results: 1000,
        page_token: pageToken,
      });
      out.push(...(r.runs ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const q = `run_id=${encodeURIComponent(runId)}&metric_key=${encodeURIComponent(key)}&max_results=25000${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ''}`;
      const r = await this.api<{ metrics?: Array<{ key: string; value: number | string; timestamp: number; step?: number }>; next_page_token?: string }>(
        'GET',
        `metrics/get-history?${q}`,
      );
      for (const m of r.metrics ?? []) out.push({ key: m.key, value: parseMetricValue(m.value), timestamp: Number(m.timestamp), step: Number(m.step ?? 0) });
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /**
   * The artifact proxy path of a run: its `artifact_uri` is `mlflow-artifacts:/<exp>/<run>/artifacts` when the server
   * proxies artifacts (`mlflow server` default); anything else means the client would have to write to the store
   * directly, which this client does not do.
   */
  static artifactProxyPath(artifactUri: string, artifactPath: string): string {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
    if (!m) {
      throw new Error(`tracking: run artifact_uri '${artifactUri}' is not an mlflow-artifacts: URI; start the server with artifact proxying (npm run mlflow does).`);
    }
    const rel = artifactPath.split('/').filter((p) => p.length > 0);
    if (rel.some((p) => p === '..' || p === '.')) throw new Error(`tracking: artifact path '${artifactPath}' must not contain '.' or '..'.`);
    return [m[1].replace(/\/+$/, ''), ...rel].map((p) => p.split('/').map(encodeURIComponent).join('/')).join('/');
  }

  /** Uploads bytes as `<artifactPath>` of the run, through the server's artifact proxy. */
  async uploadArtifact(artifactUri: string, artifactPath: string, bytes: Uint8Array): Promise<void> {
    await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${MlflowClient.artifactProxyPath(artifactUri, artifactPath)}`, undefined, bytes);
  }

  async downloadArtifact(artifactUri: string, artifactPath: string): Promise<Uint8Array> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${MlflowClient.artifactProxyPath(artifactUri, artifactPath)}`;
    const { res, bytes } = await this.exchange(url, { method: 'GET' }, true);
    if (!res.ok) throw new MlflowHttpError('GET', url, res.status, undefined, bytes.toString('utf8'));
    return new Uint8Array(bytes);
  }

  /** Reads a run as a TrackedRun (latest metrics from the run; histories only when asked). */
  async readRun(run: MlflowRun, experimentName: string, withHistory = false): Promise<TrackedRun> {
    const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
    const metrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, parseMetricValue(m.value)]));
    const out: TrackedRun = {
      id: run.info.run_id,
      experiment: experimentName,
      runName: run.info.run_name ?? tags['mlflow.runName'] ?? '',
      status: run.info.status,
      startTime: Number(run.info.start_time ?? 0),
      endTime: run.info.end_time === undefined || run.info.end_time === null ? undefined : Number(run.info.end_time),
      parentId: tags['mlflow.parentRunId'],
      params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
      tags,
      metrics,
    };
    if (withHistory) {
      out.metricHistory = {};
      for (const key of Object.keys(metrics)) out.metricHistory[key] = await this.getMetricHistory(run.info.run_id, key);
    }
    return out;
  }
}
