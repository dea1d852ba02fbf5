// Delivering a run's event log to an MLflow server, incrementally and exactly once per event: the per-run state
// file records the remote run id and how far the log has been delivered (line, entity within the line, byte
// offset), and is rewritten atomically after every successful request. A replay after a crash re-sends at most
// one request, and MLflow drops exact duplicate metrics, re-accepts equal params and overwrites tags, so nothing
// is duplicated. A lock file keeps two processes from delivering the same run at once.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@unigrad/core';
import { splitIntoBatches, type BatchEntity } from './batching';
import { isRetryable, MlflowClient, MlflowHttpError, type MlflowRunInfo } from './mlflow-client';
import { metricFromJson, type RunStore, type StoredEvent } from './store';
import type { RunStatus } from './types';

/** Tag set on every remote run, so a lost state file never leads to a second copy of a run. */
export const LOCAL_RUN_ID_TAG = 'unigrad.local_run_id';

export interface DeliveryCursor {
  line: number;
  entity: number;
  byte: number;
}

export interface TargetState {
  remoteRunId: string;
  experimentId: string;
  artifactUri: string;
  cursor: DeliveryCursor;
  /** Events the server refused permanently (4xx), kept for the record instead of blocking delivery forever. */
  rejected: Array<{ line: number; error: string }>;
  /** Artifacts whose stored copy is missing (e.g. not committed with the store), skipped with a warning. */
  skipped?: Array<{ line: number; artifactPath: string; reason: string }>;
  /** The last status set on the remote run, so the same status is not sent twice. */
  statusSent?: { status: RunStatus; endTime?: number };
}

type SyncState = Record<string, TargetState>;

function statePath(store: RunStore, id: string): string {
  return join(store.syncDir(), `${id}.json`);
}

export function readSyncState(store: RunStore, id: string): SyncState {
  const p = statePath(store, id);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as SyncState) : {};
}

function writeTargetState(store: RunStore, id: string, target: string, state: TargetState): void {
  const all = readSyncState(store, id);
  all[target] = state;
  writeJsonAtomic(statePath(store, id), all);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns a release function, or undefined when another live process is delivering this run. */
function acquireLock(store: RunStore, id: string): (() => void) | undefined {
  mkdirSync(store.syncDir(), { recursive: true });
  const lock = join(store.syncDir(), `${id}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lock, 'utf8'));
      if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && pidAlive(owner))) return undefined;
      rmSync(lock, { force: true }); // stale lock of a dead process
    }
  }
  return undefined;
}

export interface DeliveryContext {
  store: RunStore;
  client: MlflowClient;
  /** Experiment name -> id, shared across runs of one sync. */
  experimentIds?: Map<string, string>;
  /**
   * Remote runs by local run id, read once for a whole sync (`indexRemoteRuns`): when present, a run missing
   * from it is created without a search of its own. Absent: each new run is looked up by its tag first.
   */
  remoteByLocalId?: Map<string, MlflowRunInfo>;
  log?: (message: string) => void;
}

/** Reads every run of the named experiments once and indexes those carrying a local run id (for a sync). */
export async function indexRemoteRuns(ctx: DeliveryContext, experiments: Iterable<string>): Promise<void> {
  const index = (ctx.remoteByLocalId ??= new Map());
  for (const name of new Set(experiments)) {
    const exp = await ctx.client.getExperimentByName(name);
    if (!exp || exp.lifecycle_stage === 'deleted') continue;
    (ctx.experimentIds ??= new Map()).set(name, exp.experiment_id);
    for (const run of await ctx.client.searchRuns([exp.experiment_id])) {
      const local = run.data.tags?.find((t) => t.key === LOCAL_RUN_ID_TAG)?.value;
      if (local && !index.has(local)) index.set(local, run.info);
    }
  }
}

export interface DeliveryResult {
  remoteRunId: string | undefined;
  /** Warnings of this call (missing artifact files that were skipped, refusals that were recorded). */
  warnings: string[];
  /** Requests sent in this call. */
  requests: number;
  /** True when every event of the log so far has been delivered. */
  upToDate: boolean;
  /** True when another process held the run's lock and nothing was done. */
  busy: boolean;
}

function targetKey(client: MlflowClient): string {
  return client.trackingUri;
}

/** True when the run has events not yet delivered to `target` (or was never created there). */
export function hasPendingEvents(store: RunStore, id: string, target: string): boolean {
  const st = readSyncState(store, id)[target];
  if (!st) return true;
  return store.readEvents(id, st.cursor.line, st.cursor.byte).length > 0;
}

/** Creates (or finds) the remote run for a local run; resolves the parent first so `mlflow.parentRunId` is remote. */
export async function ensureRemoteRun(ctx: DeliveryContext, id: string, depth = 0, count: { requests: number } = { requests: 0 }): Promise<TargetState> {
  const target = targetKey(ctx.client);
  const existing = readSyncState(ctx.store, id)[target];
  if (existing) return existing;
  if (depth > 32) throw new Error(`tracking: run ${id} has a parent chain deeper than 32; the store is inconsistent.`);
  const [first] = ctx.store.readEvents(id).slice(0, 1);
  if (!first || first.event.e !== 'run') throw new Error(`tracking: run ${id} has no run event; can not deliver it.`);
  const run = first.event;
  const ids = (ctx.experimentIds ??= new Map());
  let experimentId = ids.get(run.experiment);
  if (!experimentId) {
    count.requests++;
    experimentId = await ctx.client.getOrCreateExperiment(run.experiment);
    ids.set(run.experiment, experimentId);
  }
  const tags = run.tags.filter((t) => t.key !== 'mlflow.parentRunId');
  if (run.parentId) {
    const parent = await ensureRemoteRun(ctx, run.parentId, depth + 1, count);
    tags.push({ key: 'mlflow.parentRunId', value: parent.remoteRunId });
  }
  tags.push({ key: LOCAL_RUN_ID_TAG, value: id });
  // A previous attempt may have created the run and died before recording it: find it by its local-id tag.
  if (!ctx.remoteByLocalId) count.requests++;
  let info = ctx.remoteByLocalId
    ? ctx.remoteByLocalId.get(id)
    : (await ctx.client.searchRuns([experimentId], `tags.\`${LOCAL_RUN_ID_TAG}\` = '${id}'`))[0]?.info;
  let statusSent: TargetState['statusSent'];
  if (!info) {
    count.requests++;
    info = await ctx.client.createRun({ experimentId, runName: run.runName, startTime: run.startTime, tags });
    ctx.remoteByLocalId?.set(id, info);
    // A run that already ended locally (a replay by sync, a spooled run) gets its true status at once, so an
    // interrupted delivery never leaves it RUNNING on the server.
    const local = ctx.store.readRun(id);
    if (local.status !== 'RUNNING') {
      count.requests++;
      await ctx.client.updateRun(info.run_id, local.status, local.endTime);
      statusSent = { status: local.status, endTime: local.endTime };
    }
  }
  const state: TargetState = {
    remoteRunId: info.run_id,
    experimentId,
    artifactUri: info.artifact_uri,
    cursor: { line: 1, entity: 0, byte: first.next },
    rejected: [],
    statusSent,
  };
  writeTargetState(ctx.store, id, target, state);
  return state;
}

function entitiesOf(event: StoredEvent['event']): BatchEntity[] | undefined {
  if (event.e === 'params') return event.params.map((param) => ({ kind: 'param' as const, param }));
  if (event.e === 'tags') return event.tags.map((tag) => ({ kind: 'tag' as const, tag }));
  if (event.e === 'metrics') return event.metrics.map((m) => ({ kind: 'metric' as const, metric: metricFromJson(m) }));
  return undefined;
}

/**
 * One delivery pass over a run: sends everything after the recorded cursor. Throws on a retryable failure
 * (network, 5xx) after saving the progress made; permanent refusals (4xx) are recorded in the state and skipped.
 */
export async function deliverRun(ctx: DeliveryContext, id: string): Promise<DeliveryResult> {
  const release = acquireLock(ctx.store, id);
  if (!release) return { remoteRunId: readSyncState(ctx.store, id)[targetKey(ctx.client)]?.remoteRunId, warnings: [], requests: 0, upToDate: false, busy: true };
  try {
    return await deliverLocked(ctx, id);
  } finally {
    release();
  }
}

async function deliverLocked(ctx: DeliveryContext, id: string): Promise<DeliveryResult> {
  const target = targetKey(ctx.client);
  const count = { requests: 0 };
  const state = await ensureRemoteRun(ctx, id, 0, count);
  const events = ctx.store.readEvents(id, state.cursor.line, state.cursor.byte);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    ctx.log?.(message);
  };
  let requests = count.requests;
  const save = (cursor: DeliveryCursor) => {
    state.cursor = cursor;
    writeTargetState(ctx.store, id, target, state);
  };

  let i = 0;
  while (i < events.length) {
    const ev = events[i];
    const first = entitiesOf(ev.event);
    if (!first) {
      try {
        if (ev.event.e === 'status') {
          const { status, endTime } = ev.event;
          if (state.statusSent?.status !== status || state.statusSent.endTime !== endTime) {
            requests++;
            await ctx.client.updateRun(state.remoteRunId, status, endTime);
          }
          // The last status of the log stays what the server shows (a later RUNNING of a resume is sent too).
          state.statusSent = { status, endTime };
        } else if (ev.event.e === 'inputs') {
          requests++;
          await ctx.client.logInputs(state.remoteRunId, ev.event.datasets);
        } else if (ev.event.e === 'artifact') {
          const file = join(ctx.store.artifactDir(id), ...ev.event.stored.split('/'));
          if (!existsSync(file)) {
            // Not a transient error: the copy is not in this store (checkpoints are not committed with the store).
            (state.skipped ??= []).push({ line: ev.line, artifactPath: ev.event.artifactPath, reason: `missing ${file}` });
            warn(`tracking: warning: run ${id}: artifact '${ev.event.artifactPath}' skipped, its copy ${file} is not in the store.`);
          } else {
            requests++;
            await ctx.client.uploadArtifact(state.artifactUri, ev.event.artifactPath, readFileSync(file));
          }
        }
        // a second 'run' event can not occur: RunStore writes it once, first
      } catch (err) {
        if (isRetryable(err) || !(err instanceof MlflowHttpError)) throw err; // retry later / a local error: stop here
        state.rejected.push({ line: ev.line, error: String(err.message) });
        warn(`tracking: server refused line ${ev.line + 1} of run ${id}: ${err.message}`);
      }
      save({ line: ev.line + 1, entity: 0, byte: ev.next });
      i++;
      continue;
    }
    // Coalesce consecutive params/tags/metrics events into one entity list, remembering where each came from.
    const entities: BatchEntity[] = [];
    const origin: Array<{ i: number; entity: number }> = [];
    let j = i;
    while (j < events.length) {
      const ents = entitiesOf(events[j].event);
      if (!ents) break;
      const skip = j === i && events[j].line === state.cursor.line ? state.cursor.entity : 0;
      for (let k = skip; k < ents.length; k++) {
        entities.push(ents[k]);
        origin.push({ i: j, entity: k });
      }
      j++;
    }
    for (const range of splitIntoBatches(state.remoteRunId, entities)) {
      const slice = entities.slice(range.start, range.end);
      requests++;
      try {
        await ctx.client.logBatchRaw(state.remoteRunId, slice);
      } catch (err) {
        if (isRetryable(err) || !(err instanceof MlflowHttpError)) throw err;
        // Find the bad entities one by one so one refused value does not take the rest of the batch with it.
        for (let k = 0; k < slice.length; k++) {
          try {
            requests++;
            await ctx.client.logBatchRaw(state.remoteRunId, [slice[k]]);
          } catch (one) {
            if (isRetryable(one) || !(one instanceof MlflowHttpError)) throw one;
            const o = origin[range.start + k];
            state.rejected.push({ line: events[o.i].line, error: one.message });
            warn(`tracking: server refused an entry on line ${events[o.i].line + 1} of run ${id}: ${one.message}`);
          }
        }
      }
      if (range.end < entities.length) {
        const o = origin[range.end];
        save({ line: events[o.i].line, entity: o.entity, byte: events[o.i].byte });
      } else {
        save({ line: events[j - 1].line + 1, entity: 0, byte: events[j - 1].next });
      }
    }
    if (entities.length === 0) save({ line: events[j - 1].line + 1, entity: 0, byte: events[j - 1].next });
    i = j;
  }
  return { remoteRunId: state.remoteRunId, warnings, requests, upToDate: true, busy: false };
}

export interface RetryOptions {
  /** First wait after a failure; doubles each time up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Give up (returning the last error) once this much time has passed. */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

export function backoffDelay(attempt: number, baseDelayMs = 500, maxDelayMs = 30_000): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** Runs `fn` until it succeeds, a non-retryable error is thrown, or the deadline passes. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const start = now();
  const deadline = opts.deadlineMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const delay = backoffDelay(attempt, opts.baseDelayMs, opts.maxDelayMs);
      if (now() - start + delay > deadline) throw err;
      opts.onRetry?.(attempt, delay, err);
      await sleep(delay);
    }
  }
}
