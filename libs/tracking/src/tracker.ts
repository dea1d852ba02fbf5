// The small interface the training apps use. Every call is appended to the run's event log on disk first (the
// embedded store, or the spool in front of a server), so tracking survives crashes and outages; with a server,
// a background deliverer pushes the log in batches (at least every `flushIntervalMs` while a run is open, sooner
// once `batchSize` values are pending) with retry and exponential backoff, and never throws into the training
// loop. Delivery runs on Node's event loop: a training loop that yields (an `await` of a timer or setImmediate)
// lets it run; one that never yields delays it to the next `flush()`/`end()`.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { userInfo } from 'node:os';
import { ownerState, ownerTags, reapDeadRuns } from './dead-runs';
import { backoffDelay, deliverRun, hasPendingEvents, readSyncState, type DeliveryContext } from './delivery';
import { validateKey, validateMetricValue, validateParamValue, validateTagValue, MLFLOW_LIMITS } from './limits';
import { isRetryable, MlflowClient, MlflowHttpError, type FetchLike } from './mlflow-client';
import { RunStore, dryRunStoreDir, workspaceRoot, type RunWriter } from './store';
import type { DatasetInput, EndStatus, KeyValue, MetricPoint, RunStatus } from './types';

export type ParamValue = string | number | boolean;

export interface StartRunOptions {
  experiment: string;
  runName: string;
  /** Makes this a nested run (`mlflow.parentRunId`); the parent must come from the same tracker. */
  parent?: RunHandle;
  tags?: Record<string, string>;
  params?: Record<string, ParamValue>;
}

export interface ResumeRunOptions {
  /** Tags to set on the resumed run (e.g. `unigrad.resumed_from_step`). */
  tags?: Record<string, string>;
}

export interface RunHandle {
  /** This run's id in the local store (32 hex characters, like MLflow's). Stable for the run's life. */
  readonly id: string;
  /** The MLflow run id once the run exists on the server (undefined for embedded runs or while unreachable). */
  readonly remoteId: string | undefined;
  readonly ended: boolean;
  /** 'RUNNING' until the first end()/endNow(), then the status it recorded. */
  readonly status: RunStatus;
  /** For a resumed run, the highest step of `key` logged before the resume (undefined for a fresh run or key). */
  lastStep(key: string): number | undefined;
  /** `timestamp` (ms since the epoch) is when the values were measured; default now. */
  logMetrics(step: number, metrics: Record<string, number>, timestamp?: number): void;
  logParams(params: Record<string, ParamValue>): void;
  setTags(tags: Record<string, string>): void;
  /** Copies the file into the store now (so later changes do not leak in) and uploads it on delivery. */
  logArtifact(localPath: string, artifactPath?: string): void;
  logDataset(dataset: DatasetInput): void;
  /** Waits until everything logged so far is delivered (server) or returns at once (embedded). Never throws. */
  flush(): Promise<boolean>;
  /**
   * Records the end status and end time, then flushes. Idempotent: only the first call records a status (a
   * later end('FAILED') in a finally block does not overwrite FINISHED, nor the reverse); every call flushes.
   * Never throws (a failing disk or server is logged), so it is safe in catch and finally blocks.
   */
  end(status?: EndStatus): Promise<void>;
  /** Synchronous end for signal handlers: records the status on disk; delivery happens on the next flush/sync. Idempotent, never throws. */
  endNow(status: EndStatus): void;
}

export interface Tracker {
  readonly kind: 'embedded' | 'mlflow';
  readonly store: RunStore;
  /** Present when kind is 'mlflow'. */
  readonly trackingUri: string | undefined;
  startRun(options: StartRunOptions): Promise<RunHandle>;
  /**
   * Continues an existing run of this tracker's store (same id, same remote run): records this process as its
   * owner, sets it RUNNING again and returns a handle. Refused while another live process owns the run. The
   * handle drops metric points at or below the last step already logged for that key, so replaying steps
   * after the checkpoint creates no duplicates; params already logged may be logged again with equal values.
   */
  resumeRun(id: string, options?: ResumeRunOptions): Promise<RunHandle>;
  openRuns(): RunHandle[];
  /** Delivers everything pending (server) within timeoutMs; true when the server confirmed all of it. Never throws. */
  flush(timeoutMs?: number): Promise<boolean>;
  /**
   * Ends every open run with `status` (default KILLED: the caller stops without ending them), stops background
   * delivery and flushes. For the end of a process; the tracker can not start runs afterwards. Never throws.
   */
  close(status?: EndStatus, timeoutMs?: number): Promise<boolean>;
}

export interface TrackerOptions {
  /** Store directory (default UNIGRAD_TRACKING_DIR or <workspace>/tracking-store). */
  storeDir?: string;
  /** A --dry-run's tracker: the throwaway `dryRunStoreDir()`, no MLflow server (overrides storeDir, UNIGRAD_TRACKING_DIR and trackingUri). */
  dryRun?: boolean;
  /** Server URL; default process.env.MLFLOW_TRACKING_URI. Empty/unset selects the embedded store. */
  trackingUri?: string;
  fetch?: FetchLike;
  /** Deliver once this many metric values are pending (default 1000 = one full log-batch). */
  batchSize?: number;
  /** Deliver at least this often while a run is open (default 5 s). The timer is unref'd: it never keeps the process alive. */
  flushIntervalMs?: number;
  /** How long end()/flush() keep retrying before leaving the rest in the spool (default 30 s). */
  flushTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  log?: (message: string) => void;
  /** System tags; detected from git/os/argv when omitted. The owner tags (unigrad.pid/host) are always added. */
  systemTags?: Record<string, string>;
  /** Mark RUNNING runs of dead processes on this host KILLED when the tracker is created (default true). */
  reapDeadRuns?: boolean;
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
  private endStatus: EndStatus | undefined;
  /** For a resumed run: the last step logged per metric key before this process took over. */
  private readonly loggedUpTo = new Map<string, number>();

  constructor(
    private readonly tracker: StoreTracker,
    private readonly writer: RunWriter,
    resumed?: { params: Record<string, string>; lastSteps: Record<string, number> },
  ) {
    if (resumed) {
      for (const [k, v] of Object.entries(resumed.params)) this.params.set(k, v);
      for (const [k, v] of Object.entries(resumed.lastSteps)) this.loggedUpTo.set(k, v);
    }
  }

  get id(): string {
    return this.writer.id;
  }

  get remoteId(): string | undefined {
    const uri = this.tracker.trackingUri;
    return uri ? readSyncState(this.tracker.store, this.id)[uri]?.remoteRunId : undefined;
  }

  get ended(): boolean {
    return this.endStatus !== undefined;
  }

  get status(): RunStatus {
    return this.endStatus ?? 'RUNNING';
  }

  private assertOpen(what: string): void {
    if (this.ended) throw new Error(`tracking: ${what} on run ${this.id} after end(); log before ending the run.`);
  }

  lastStep(key: string): number | undefined {
    return this.loggedUpTo.get(key);
  }

  logMetrics(step: number, metrics: Record<string, number>, at?: number): void {
    this.assertOpen('logMetrics');
    const timestamp = at !== undefined && Number.isFinite(at) ? Math.round(at) : Date.now();
    const points: MetricPoint[] = [];
    for (const [key, value] of Object.entries(metrics)) {
      validateKey('metric', key);
      validateMetricValue(key, value, step);
      const upTo = this.loggedUpTo.get(key);
      if (upTo !== undefined && step <= upTo) continue; // already in the history from before the resume
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
    if (this.ended) return;
    this.endStatus = status;
    try {
      this.writer.append({ e: 'status', status, endTime: Date.now() });
    } catch (err) {
      // A full or failing disk: the run stays RUNNING on disk, and the dead-run check marks it later.
      this.tracker.warn(`tracking: could not record status ${status} of run ${this.id}: ${(err as Error).message}`);
    }
    try {
      this.writer.close();
    } catch {
      // the descriptor is gone either way
    }
    this.tracker.forget(this);
  }

  async end(status: EndStatus = 'FINISHED'): Promise<void> {
    this.endNow(status);
    await this.tracker.flush();
  }
}

/** 'done': every run confirmed by the server; 'busy': another process holds a run's delivery lock; 'failed': server trouble. */
type PassResult = 'done' | 'busy' | 'failed';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The one Tracker implementation: embedded when no server is configured, spool-then-deliver otherwise. */
class StoreTracker implements Tracker {
  readonly kind: 'embedded' | 'mlflow';
  readonly store: RunStore;
  readonly trackingUri: string | undefined;
  readonly batchSize: number;
  private readonly open = new Set<Run>();
  /** Runs of this tracker (and spooled leftovers for this server) not yet known to be fully delivered. */
  private readonly undelivered = new Set<string>();
  /** Runs whose delivery failed for a reason waiting does not fix (logged once; `npm run mlflow:sync` reports them). */
  private readonly stuck = new Set<string>();
  private readonly ctx: DeliveryContext | undefined;
  private readonly systemTags: Record<string, string>;
  private inflight: Promise<PassResult> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private warnedOutage = false;
  private closed = false;

  constructor(private readonly options: TrackerOptions) {
    this.store = new RunStore(options.storeDir);
    const uri = options.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
    this.trackingUri = uri ? uri.replace(/\/+$/, '') : undefined;
    this.kind = this.trackingUri ? 'mlflow' : 'embedded';
    this.batchSize = options.batchSize ?? 1000;
    this.systemTags = options.systemTags ?? detectSystemTags();
    // Runs left RUNNING by processes that died (SIGKILL, OOM) are marked KILLED before anything else, so their
    // status is delivered below with the rest of the spool.
    if (options.reapDeadRuns ?? true) reapDeadRuns({ store: this.store, log: this.log });
    const target = this.trackingUri;
    if (target) {
      const client = new MlflowClient({ trackingUri: target, fetch: options.fetch, timeoutMs: options.requestTimeoutMs ?? 15_000 });
      this.ctx = { store: this.store, client, log: this.log };
      // Runs spooled for this server by earlier processes that never got through, and runs already on this
      // server with events since (e.g. a status from the dead-run check), are delivered along with ours.
      for (const id of this.store.listRunIds()) {
        try {
          const known = readSyncState(this.store, id)[target] !== undefined;
          if ((known || this.store.readRunEvent(id)?.target === target) && hasPendingEvents(this.store, id, target)) this.undelivered.add(id);
        } catch (err) {
          this.log(`tracking: skipping run ${id} of ${this.store.dir}: ${(err as Error).message}`);
        }
      }
    }
  }

  private readonly log = (message: string): void => {
    (this.options.log ?? ((m: string) => console.warn(m)))(message);
  };

  warn(message: string): void {
    this.log(message);
  }

  async startRun(o: StartRunOptions): Promise<RunHandle> {
    if (this.closed) throw new Error('tracking: startRun after close(); create a new tracker.');
    if (!o.experiment) throw new Error('tracking: startRun needs an experiment name.');
    if (o.parent && !(o.parent instanceof Run && this.open.has(o.parent))) {
      throw new Error('tracking: the parent run must be an open run of the same tracker.');
    }
    const tags: KeyValue[] = [];
    const all = { ...this.systemTags, ...ownerTags(), 'mlflow.runName': o.runName, ...(o.tags ?? {}) };
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
      // Create the remote run now when the server is up (so remoteId is known); never throws, skipped while backing off.
      if (Date.now() >= this.nextAttemptAt) await this.freshPass();
    }
    return run;
  }

  async resumeRun(id: string, options: ResumeRunOptions = {}): Promise<RunHandle> {
    if (this.closed) throw new Error('tracking: resumeRun after close(); create a new tracker.');
    if ([...this.open].some((r) => r.id === id)) throw new Error(`tracking: run ${id} is already open in this tracker.`);
    if (!this.store.listRunIds().includes(id)) throw new Error(`tracking: no run ${id} in ${this.store.dir}; resume needs the store the run was tracked in.`);
    const first = this.store.readRunEvent(id);
    if ((first?.target ?? undefined) !== this.trackingUri) {
      throw new Error(`tracking: run ${id} was tracked ${first?.target ? `against ${first.target}` : 'in the embedded store'}; resume it with the same MLFLOW_TRACKING_URI (${this.trackingUri ?? 'unset'} now).`);
    }
    const past = this.store.readRun(id, true);
    if (past.status === 'RUNNING' && ownerState(past.tags) === 'alive' && past.tags['unigrad.pid'] !== String(process.pid)) {
      throw new Error(`tracking: run ${id} is still RUNNING in process ${past.tags['unigrad.pid']} on ${past.tags['unigrad.host']}; stop that process first.`);
    }
    const tags = { ...ownerTags(), ...(options.tags ?? {}) };
    for (const [key, value] of Object.entries(tags)) {
      validateKey('tag', key);
      validateTagValue(key, value);
    }
    const lastSteps: Record<string, number> = {};
    for (const [key, points] of Object.entries(past.metricHistory ?? {})) lastSteps[key] = points.reduce((top, m) => Math.max(top, m.step), -1);
    const writer = this.store.openRun(id);
    writer.append({ e: 'tags', tags: Object.entries(tags).map(([key, value]) => ({ key, value })) });
    writer.append({ e: 'status', status: 'RUNNING' });
    const run = new Run(this, writer, { params: past.params, lastSteps });
    this.open.add(run);
    if (this.ctx) {
      this.undelivered.add(id);
      this.ensureTimer();
      if (Date.now() >= this.nextAttemptAt) await this.freshPass();
    }
    return run;
  }

  openRuns(): RunHandle[] {
    return [...this.open];
  }

  forget(run: Run): void {
    this.open.delete(run);
    if (this.open.size === 0) this.stopTimer();
  }

  private ensureTimer(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.kick(), this.options.flushIntervalMs ?? 5000);
    this.timer.unref(); // tracking must never keep the process alive
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts a background delivery unless one is running or we are backing off. */
  kick(): void {
    if (!this.ctx || this.inflight || Date.now() < this.nextAttemptAt) return;
    void this.deliverOnce();
  }

  /** A pass that starts after every event logged so far (waits for the one in flight first). */
  private async freshPass(): Promise<PassResult> {
    if (this.inflight) await this.inflight;
    return this.deliverOnce();
  }

  /** One pass over every undelivered run, or the pass already in flight. Never rejects. */
  private deliverOnce(): Promise<PassResult> {
    if (!this.ctx) return Promise.resolve('done');
    if (this.inflight) return this.inflight;
    // Cleared by .finally, which always runs after this assignment, even when the pass has nothing to do and
    // settles at once (clearing it inside the pass itself left a settled promise here forever: issue 19, item 8).
    const pass: Promise<PassResult> = this.pass(this.ctx).finally(() => {
      if (this.inflight === pass) this.inflight = undefined;
    });
    this.inflight = pass;
    return pass;
  }

  private async pass(ctx: DeliveryContext): Promise<PassResult> {
    let busy = false;
    try {
      // deliverRun creates a missing parent before its child, so the order here does not matter.
      for (const id of [...this.undelivered]) {
        // Whether the run was still open *before* this delivery read its log: a run ended during the delivery
        // has a status event this pass did not send, so it must stay for the next pass.
        const wasOpen = [...this.open].some((run) => run.id === id);
        let r;
        try {
          r = await deliverRun(ctx, id);
        } catch (err) {
          if (isRetryable(err)) throw err;
          this.undelivered.delete(id);
          this.stuck.add(id);
          const what = err instanceof MlflowHttpError ? 'the server refused it' : 'a local error';
          this.log(`tracking: can not deliver run ${id} (${what}: ${(err as Error).message}); it stays in ${this.store.dir} and \`npm run mlflow:sync\` reports it.`);
          continue;
        }
        if (r.busy) busy = true;
        else if (r.upToDate && !wasOpen) this.undelivered.delete(id);
      }
    } catch (err) {
      if (process.env.TRACKING_DEBUG) console.error(err);
      this.failures++;
      this.nextAttemptAt = Date.now() + backoffDelay(this.failures, this.options.baseDelayMs, this.options.maxDelayMs);
      if (!this.warnedOutage) {
        this.warnedOutage = true;
        const why = err instanceof MlflowHttpError ? `unreachable or failing (HTTP ${err.status})` : 'unreachable or failing';
        const cause = (err as { cause?: { message?: string; code?: string } }).cause;
        const detail = `${(err as Error).message}${cause?.message ? `: ${cause.message}${cause.code ? ` ${cause.code}` : ''}` : ''}`;
        this.log(`tracking: MLflow server ${this.trackingUri} is ${why} (${detail}); logging to ${this.store.dir} and retrying with backoff.`);
      }
      return 'failed';
    }
    this.failures = 0;
    this.nextAttemptAt = 0;
    if (this.warnedOutage && !busy) {
      // Printed only here: every request of this pass was answered with success by the server.
      this.warnedOutage = false;
      this.log(`tracking: ${this.trackingUri} is reachable again; the server confirmed every event spooled so far.`);
    }
    return busy ? 'busy' : 'done';
  }

  async flush(timeoutMs = this.options.flushTimeoutMs ?? 30_000): Promise<boolean> {
    if (!this.ctx) return true;
    const deadline = Date.now() + timeoutMs;
    let last: PassResult = 'failed';
    for (;;) {
      if (this.inflight && (await this.within(this.inflight, deadline)) === 'timeout') break;
      const wait = this.nextAttemptAt - Date.now();
      if (wait > 0) {
        if (Date.now() + wait > deadline) break;
        await sleep(wait);
      }
      const r = await this.within(this.deliverOnce(), deadline);
      if (r === 'timeout') break;
      last = r;
      if (r === 'done') return true;
      if (r === 'busy') {
        if (Date.now() + 200 > deadline) break;
        await sleep(200);
      }
      if (Date.now() >= deadline) break;
    }
    this.log(
      last === 'busy'
        ? `tracking: another process is delivering some of these runs to ${this.trackingUri} right now; it finishes them (or run \`npm run mlflow:sync\`).`
        : `tracking: ${this.trackingUri} still unreachable; undelivered events stay in ${this.store.dir} and are sent by the next run or by \`npm run mlflow:sync\`.`,
    );
    return false;
  }

  /** `p`, or 'timeout' once the deadline passes (the pass goes on in the background). */
  private async within(p: Promise<PassResult>, deadline: number): Promise<PassResult | 'timeout'> {
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)));
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(status: EndStatus = 'KILLED', timeoutMs?: number): Promise<boolean> {
    // Children first, so a parent never ends before its children in the log.
    for (const run of [...this.open].reverse()) run.endNow(status);
    this.closed = true;
    this.stopTimer();
    return this.flush(timeoutMs);
  }
}

/**
 * MLFLOW_TRACKING_URI (or options.trackingUri) set -> runs go to that MLflow server, spooled on disk first;
 * unset -> the embedded store only (no server, no Python). Creating a tracker marks runs of dead processes on
 * this host KILLED (see `reapDeadRuns`).
 */
export function createTracker(options: TrackerOptions = {}): Tracker {
  return new StoreTracker(options.dryRun ? { ...options, storeDir: dryRunStoreDir(), trackingUri: '' } : options);
}
