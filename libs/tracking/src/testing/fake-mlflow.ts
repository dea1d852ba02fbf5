// An in-memory stand-in for the MLflow REST API, for unit tests: enforces the log-batch limits like the real
// server, can be switched "down" (connection refused) or made to answer 503, and counts every request.
import { MLFLOW_LIMITS } from '../limits';
import type { FetchLike } from '../mlflow-client';

interface FakeRun {
  info: { run_id: string; experiment_id: string; run_name: string; status: string; start_time: number; end_time?: number; artifact_uri: string };
  params: Map<string, string>;
  tags: Map<string, string>;
  /** Every metric entity received, duplicates included (the real server would drop exact duplicates). */
  metricsReceived: Array<{ key: string; value: unknown; timestamp: number; step: number }>;
  inputs: unknown[];
}

export class FakeMlflow {
  down = false;
  /** Answer the next N requests with 503. */
  fail503 = 0;
  /** Answer the Nth upcoming log-batch with 503 (1 = next one). */
  failLogBatchAt = 0;
  requests: string[] = [];
  experiments = new Map<string, string>();
  /** Experiment id → its tags. */
  experimentTags = new Map<string, Map<string, string>>();
  runs = new Map<string, FakeRun>();
  artifacts = new Map<string, Uint8Array>();
  private seq = 0;

  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const method = init?.method ?? 'GET';
    if (this.down) throw new TypeError('fetch failed');
    this.requests.push(`${method} ${url.pathname}`);
    if (this.fail503 > 0) {
      this.fail503--;
      return this.json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'injected' });
    }
    if (url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      const path = decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length));
      this.artifacts.set(path, new Uint8Array(init?.body as Uint8Array));
      return this.json(200, {});
    }
    const endpoint = url.pathname.replace('/api/2.0/mlflow/', '');
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    return this.handle(endpoint, url.searchParams, body);
  };

  private json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  }

  private handle(endpoint: string, q: URLSearchParams, body: Record<string, unknown>): Response {
    switch (endpoint) {
      case 'experiments/get-by-name': {
        const id = this.experiments.get(q.get('experiment_name') ?? '');
        return id
          ? this.json(200, { experiment: { experiment_id: id, name: q.get('experiment_name'), lifecycle_stage: 'active', tags: [...(this.experimentTags.get(id) ?? [])].map(([key, value]) => ({ key, value })) } })
          : this.json(404, { error_code: 'RESOURCE_DOES_NOT_EXIST' });
      }
      case 'experiments/create': {
        const name = String(body.name);
        if (this.experiments.has(name)) return this.json(400, { error_code: 'RESOURCE_ALREADY_EXISTS' });
        const id = String(this.experiments.size + 1);
        this.experiments.set(name, id);
        this.experimentTags.set(id, new Map(((body.tags ?? []) as Array<{ key: string; value: string }>).map((t) => [t.key, t.value])));
        return this.json(200, { experiment_id: id });
      }
      case 'experiments/set-experiment-tag': {
        const id = String(body.experiment_id);
        if (!this.experimentTags.has(id)) this.experimentTags.set(id, new Map());
        this.experimentTags.get(id)!.set(String(body.key), String(body.value));
        return this.json(200, {});
      }
      case 'runs/create': {
        const run_id = `remote${String(++this.seq).padStart(4, '0')}`;
        const tags = new Map((body.tags as Array<{ key: string; value: string }>).map((t) => [t.key, t.value]));
        const info = {
          run_id,
          experiment_id: String(body.experiment_id),
          run_name: String(body.run_name),
          status: 'RUNNING',
          start_time: Number(body.start_time),
          artifact_uri: `mlflow-artifacts:/${String(body.experiment_id)}/${run_id}/artifacts`,
        };
        this.runs.set(run_id, { info, params: new Map(), tags, metricsReceived: [], inputs: [] });
        return this.json(200, { run: { info, data: {} } });
      }
      case 'runs/search': {
        const m = /= '([0-9a-f]+)'/.exec(String(body.filter ?? ''));
        const runs = [...this.runs.values()].filter((r) => !m || r.tags.get('unigrad.local_run_id') === m[1]);
        const exps = (body.experiment_ids as string[] | undefined) ?? [];
        const inExp = runs.filter((r) => exps.length === 0 || exps.includes(r.info.experiment_id));
        return this.json(200, {
          runs: inExp.map((r) => ({ info: r.info, data: { tags: [...r.tags].map(([key, value]) => ({ key, value })) } })),
        });
      }
      case 'runs/log-batch': {
        if (this.failLogBatchAt > 0 && --this.failLogBatchAt === 0) return this.json(503, { error_code: 'TEMPORARILY_UNAVAILABLE' });
        const run = this.runs.get(String(body.run_id));
        if (!run) return this.json(404, { error_code: 'RESOURCE_DOES_NOT_EXIST' });
        const metrics = body.metrics as FakeRun['metricsReceived'];
        const params = body.params as Array<{ key: string; value: string }>;
        const tags = body.tags as Array<{ key: string; value: string }>;
        const size = JSON.stringify(body).length;
        if (
          metrics.length > MLFLOW_LIMITS.metricsPerBatch ||
          params.length > MLFLOW_LIMITS.paramsPerBatch ||
          tags.length > MLFLOW_LIMITS.tagsPerBatch ||
          metrics.length + params.length + tags.length > MLFLOW_LIMITS.entitiesPerBatch ||
          size > MLFLOW_LIMITS.batchBodyBytes
        ) {
          return this.json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'batch over limits' });
        }
        for (const p of params) {
          const prev = run.params.get(p.key);
          if (prev !== undefined && prev !== p.value) return this.json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: `param ${p.key} changed` });
        }
        for (const p of params) run.params.set(p.key, p.value);
        for (const t of tags) run.tags.set(t.key, t.value);
        run.metricsReceived.push(...metrics);
        return this.json(200, {});
      }
      case 'runs/update': {
        const run = this.runs.get(String(body.run_id))!;
        run.info.status = String(body.status);
        run.info.end_time = body.end_time as number | undefined;
        return this.json(200, {});
      }
      case 'runs/set-tag': {
        this.runs.get(String(body.run_id))!.tags.set(String(body.key), String(body.value));
        return this.json(200, {});
      }
      case 'runs/log-inputs': {
        this.runs.get(String(body.run_id))!.inputs.push(...(body.datasets as unknown[]));
        return this.json(200, {});
      }
      default:
        return this.json(404, { error_code: 'ENDPOINT_NOT_FOUND', message: endpoint });
    }
  }
}
