// The small interface the training apps use. Every call is appended to the run's event log on disk first (the
// embedded store, or the spool in front of a server), so tracking survives crashes and outages; with a server,
// a background deliverer pushes the log in batches with retry and exponential backoff, and never throws into
// the training loop.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { userInfo } from 'node:os';
import { backoffDelay, deliverRun, readSyncState, type DeliveryContext } from './delivery';
import { validateKey, validateMetricValue, validateParamValue, validateTagValue, MLFLOW_LIMITS } from './limits';
import { isRetryable, MlflowClient, type FetchLike } from './mlflow-client';
import { RunStore, workspaceRoot, type RunWriter } from './store';
import type { DatasetInput, EndStatus, KeyValue, MetricPoint } from './types';

export type ParamValue = string | number | boolean;

export interface StartRunOptions {
  experiment: string;
  runName: string;
  /** Makes this a nested run (`mlflow.parentRunId`); the parent must come from the same tracker. */
  parent?: RunHandle;
  tags?: Record<string, string>;
  params?: Record<string, ParamValue>;
}

export interface RunHandle {
  /** This run's id in the local store (32 hex characters, like MLflow's). Stable for the run's life. */
  readonly id: string;
  /** The MLflow run id once the run exists on the server (undefined for embedded runs or while unreachable). */
  readonly remoteId: string | undefined;
  readonly ended: boolean;
  logMetrics(step: number, metrics: Record<string, number>): void;
  logParams(params: Record<string, ParamValue>): void;
  setTags(tags: Record<string, string>): void;
  /** Copies the file into the store now (so later changes do not leak in) and uploads it on delivery. */
  logArtifact(localPath: string, artifactPath?: string): void;
  logDataset(dataset: DatasetInput): void;
  /** Waits until everything logged so far is delivered (server) or returns at once (embedded). Never throws. */
  flush(): Promise<boolean>;
  /** Records the end status and end time, then flushes. Never throws because of the server. */
  end(status?: EndStatus): Promise<void>;
  /** Synchronous end for signal handlers: records the status on disk; delivery happens on the next flush/sync. */
  endNow(status: EndStatus): void;
}

export interface Tracker {
  readonly kind: 'embedded' | 'mlflow';
  readonly store: RunStore;
  /** Present when kind is 'mlflow'. */
  readonly trackingUri: string | undefined;
  startRun(options: StartRunOptions): Promise<RunHandle>;
  openRuns(): RunHandle[];
  /** Delivers everything pending (server) within timeoutMs; true when nothing is left. Never throws. */
  flush(timeoutMs?: number): Promise<boolean>;
}

export interface TrackerOptions {
  /** Store directory (default UNIGRAD_TRACKING_DIR or <workspace>/tracking-store). */
  storeDir?: string;
  /** Server URL; default process.env.MLFLOW_TRACKING_URI. Empty/unset selects the embedded store. */
  trackingUri?: string;
  fetch?: FetchLike;
  /** Deliver once this many metric values are pending (default 1000 = one full log-batch). */
  batchSize?: number;
  /** Deliver at least this often while a run is active (default 10 s). */
  flushIntervalMs?: number;
  /** How long end()/flush() keep retrying before leaving the rest in the spool (default 30 s). */
  flushTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  log?: (message: string) => void;
  /** System tags; detected from git/os/argv when omitted. */
  systemTags?: Record<string, string>;
}

function gitCommit(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export function detectSystemTags(): Record<string, string> {
  const root = workspaceRoot();
  const tags: Record<string, string> = { 'mlflow.source.type': 'LOCAL' };
  const script = process.argv[1];
  if (script) tags['mlflow.source.name'] = relative(root, script) || basename(script);
  try {
    tags['mlflow.user'] = userInfo().username;
  } catch {
    tags['mlflow.user'] = process.env.USER ?? 'unknown';
  }
  const commit = gitCommit(root);
  if (commit) tags['mlflow.source.git.commit'] = commit;
  return tags;
}

function paramString(key: string, value: ParamValue): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`tracking: param '${key}' is ${typeof value}; flatten it to string/number/boolean values (e.g. 'optimizer.lr').`);
  }
  return String(value);
}

class Run implements RunHandle {
  private readonly params = new Map<string, string>();
  private pendingMetrics = 0;
  private endedFlag = false;

  constructor(
    private readonly tracker: StoreTracker,
    private readonly writer: RunWriter,
  ) {}

  get id(): string {
    return this.writer.id;
  }

  get remoteId(): string | undefined {
    const uri = this.tracker.trackingUri;
    return uri ? readSyncState(this.tracker.store, this.id)[uri]?.remoteRunId : undefined;
  }

  get ended(): boolean {
    return this.endedFlag;
  }

  private assertOpen(what: string): void {
    if (this.endedFlag) throw new Error(`tracking: ${what} on run ${this.id} after end(); log before ending the run.`);
  }

  logMetrics(step: number, metrics: Record<string, number>): void {
    this.assertOpen('logMetrics');
    const timestamp = Date.now();
    const points: MetricPoint[] = [];
    for (const [key, value] of Object.entries(metrics)) {
      validateKey('metric', key);
      validateMetricValue(key, value, step);
      points.push({ key, value, timestamp, step });
    }
    if (points.length === 0) return;
    this.writer.appendMetrics(points);
    this.pendingMetrics += points.length;
    if (this.pendingMetrics >= this.tracker.batchSize) {
      this.pendingMetrics = 0;
      this.tracker.kick();
    }
  }

  logParams(params: Record<string, ParamValue>): void {
    this.assertOpen('logParams');
    const fresh: KeyValue[] = [];
    for (const [key, raw] of Object.entries(params)) {
      validateKey('param', key);
      const value = paramString(key, raw);
      validateParamValue(key, value);
      const prev = this.params.get(key);
      if (prev !== undefined && prev !== value) {
        throw new Error(`tracking: param '${key}' was already logged as '${prev}' on run ${this.id}; MLflow params can not change. Use a tag or a metric for values that change.`);
      }
      if (prev === undefined) fresh.push({ key, value });
      this.params.set(key, value);
    }
    if (fresh.length > 0) this.writer.append({ e: 'params', params: fresh });
  }

  setTags(tags: Record<string, string>): void {
    this.assertOpen('setTags');
    const list = Object.entries(tags).map(([key, value]) => {
      validateKey('tag', key);
      const v = String(value);
      validateTagValue(key, v);
      return { key, value: v };
    });
    if (list.length > 0) this.writer.append({ e: 'tags', tags: list });
  }

  logArtifact(localPath: string, artifactPath?: string): void {
    this.assertOpen('logArtifact');
    if (!existsSync(localPath) || !statSync(localPath).isFile()) {
      throw new Error(`tracking: artifact '${localPath}' is not a file (directories: log each file).`);
    }
    this.writer.copyArtifact(localPath, artifactPath ?? basename(localPath));
    this.tracker.kick();
  }

  logDataset(dataset: DatasetInput): void {
    this.assertOpen('logDataset');
    if (!dataset.name || dataset.name.length > MLFLOW_LIMITS.datasetNameLength) throw new Error(`tracking: dataset name must have 1..${MLFLOW_LIMITS.datasetNameLength} characters.`);
    if (!dataset.digest || dataset.digest.length > MLFLOW_LIMITS.datasetDigestLength) {
      throw new Error(`tracking: dataset digest must have 1..${MLFLOW_LIMITS.datasetDigestLength} characters (e.g. the first 16 hex of a sha256).`);
    }
    this.writer.append({ e: 'inputs', datasets: [dataset] });
  }

  flush(): Promise<boolean> {
    return this.tracker.flush();
  }

  endNow(status: EndStatus): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    this.writer.append({ e: 'status', status, endTime: Date.now() });
    this.writer.close();
    this.tracker.forget(this);
  }

  async end(status: EndStatus = 'FINISHED'): Promise<void> {
    this.endNow(status);
    await this.tracker.flush();
  }
}

/** The one Tracker implementation: embedded when no server is configured, spool-then-deliver otherwise. */
class StoreTracker implements Tracker {
  readonly kind: 'embedded' | 'mlflow';
  readonly store: RunStore;
  readonly trackingUri: string | undefined;
  readonly batchSize: number;
  private readonly open = new Set<Run>();
  /** Runs of this tracker (and spooled leftovers for this server) not yet known to be fully delivered. */
  private readonly undelivered = new Set<string>();
  private readonly ctx: DeliveryContext | undefined;
  private readonly systemTags: Record<string, string>;
  private inflight: Promise<boolean> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private warnedOutage = false;

  constructor(private readonly options: TrackerOptions) {
    this.store = new RunStore(options.storeDir);
    const uri = options.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
    this.trackingUri = uri ? uri.replace(/\/+$/, '') : undefined;
    this.kind = this.trackingUri ? 'mlflow' : 'embedded';
    this.batchSize = options.batchSize ?? 1000;
    this.systemTags = options.systemTags ?? detectSystemTags();
    if (this.trackingUri) {
      const client = new MlflowClient({ trackingUri: this.trackingUri, fetch: options.fetch, timeoutMs: options.requestTimeoutMs ?? 15_000 });
      this.ctx = { store: this.store, client, log: this.log };
      // Runs spooled for this server by earlier processes that never got through are delivered along with ours.
      for (const id of this.store.listRunIds()) {
        const first = this.store.readRunEvent(id);
        if (first?.e !== 'run' || first.target !== this.trackingUri) continue;
        const st = readSyncState(this.store, id)[this.trackingUri];
        const lines = this.store.readEvents(id, st?.cursor.line ?? 0, st?.cursor.byte ?? 0).length;
        if (!st || lines > 0) this.undelivered.add(id);
      }
    }
  }

  private readonly log = (message: string): void => {
    (this.options.log ?? ((m: string) => console.warn(m)))(message);
  };

  async startRun(o: StartRunOptions): Promise<RunHandle> {
    if (!o.experiment) throw new Error('tracking: startRun needs an experiment name.');
    if (o.parent && !(o.parent instanceof Run && this.open.has(o.parent))) {
      throw new Error('tracking: the parent run must be an open run of the same tracker.');
    }
    const tags: KeyValue[] = [];
    const all = { ...this.systemTags, 'mlflow.runName': o.runName, ...(o.tags ?? {}) };
    for (const [key, value] of Object.entries(all)) {
      validateKey('tag', key);
      validateTagValue(key, value);
      tags.push({ key, value: String(value) });
    }
    const writer = this.store.createRun({
      experiment: o.experiment,
      runName: o.runName,
      startTime: Date.now(),
      parentId: o.parent?.id,
      tags,
      target: this.trackingUri,
    });
    const run = new Run(this, writer);
    this.open.add(run);
    if (o.params) run.logParams(o.params);
    if (this.ctx) {
      this.undelivered.add(run.id);
      this.ensureTimer();
      await this.deliverOnce(); // create the remote run now when the server is up; never throws
    }
    return run;
  }

  openRuns(): RunHandle[] {
    return [...this.open];
  }

  forget(run: Run): void {
    this.open.delete(run);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.options.flushIntervalMs ?? 10_000);
    this.timer.unref(); // tracking must never keep the process alive
  }

  /** Starts a background delivery unless one is running or we are backing off. */
  kick(): void {
    if (!this.ctx || this.inflight || Date.now() < this.nextAttemptAt) return;
    void this.deliverOnce();
  }

  /** One pass over every undelivered run. Resolves true when all are up to date; never rejects. */
  private deliverOnce(): Promise<boolean> {
    if (!this.ctx) return Promise.resolve(true);
    if (this.inflight) return this.inflight;
    const ctx = this.ctx;
    this.inflight = (async () => {
      try {
        // deliverRun creates a missing parent before its child, so the order here does not matter.
        for (const id of [...this.undelivered]) {
          const r = await deliverRun(ctx, id);
          const stillOpen = [...this.open].some((run) => run.id === id);
          if (r.upToDate && !stillOpen) this.undelivered.delete(id);
        }
        if (this.warnedOutage) this.log(`tracking: ${this.trackingUri} is reachable again; spooled data delivered.`);
        this.failures = 0;
        this.nextAttemptAt = 0;
        this.warnedOutage = false;
        return true;
      } catch (err) {
        if (process.env.TRACKING_DEBUG) console.error(err);
        this.failures++;
        this.nextAttemptAt = Date.now() + backoffDelay(this.failures, this.options.baseDelayMs, this.options.maxDelayMs);
        if (!this.warnedOutage) {
          this.warnedOutage = true;
          const why = isRetryable(err) ? 'unreachable or failing' : 'refusing requests';
          this.log(`tracking: MLflow server ${this.trackingUri} is ${why} (${(err as Error).message}); logging to ${this.store.dir} and retrying with backoff.`);
        }
        return false;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  async flush(timeoutMs = this.options.flushTimeoutMs ?? 30_000): Promise<boolean> {
    if (!this.ctx) return true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.inflight) await this.inflight;
      const wait = this.nextAttemptAt - Date.now();
      if (wait > 0) {
        if (Date.now() + wait > deadline) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      if (await this.deliverOnce()) return true;
      if (Date.now() >= deadline) break;
    }
    this.log(`tracking: ${this.trackingUri} still unreachable; undelivered events stay in ${this.store.dir} and are sent by the next run or by \`npm run mlflow:sync\`.`);
    return false;
  }
}

/**
 * MLFLOW_TRACKING_URI (or options.trackingUri) set -> runs go to that MLflow server, spooled on disk first;
 * unset -> the embedded store only (no server, no Python).
 */
export function createTracker(options: TrackerOptions = {}): Tracker {
  return new StoreTracker(options);
}
