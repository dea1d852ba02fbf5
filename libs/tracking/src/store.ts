// The embedded run store: one append-only JSONL event log per run under <dir>/runs/<id>.jsonl, artifact copies
// under <dir>/artifacts/<id>/, and per-run delivery state under <dir>/sync/. Needs no server and no Python.
// Each event is one write(2) of one line on an O_APPEND descriptor, so a crash loses at most the line being
// written; readers skip a torn last line.
import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { metricToJson, type MetricJson } from './batching';
import type { DatasetInput, KeyValue, MetricPoint, RunStatus, TrackedRun } from './types';

export type StoreEvent =
  | {
      e: 'run';
      id: string;
      experiment: string;
      runName: string;
      startTime: number;
      parentId?: string;
      tags: KeyValue[];
      /** Set when the run was tracked against a server (this store is its spool); absent for embedded runs. */
      target?: string;
    }
  | { e: 'params'; params: KeyValue[] }
  | { e: 'tags'; tags: KeyValue[] }
  | { e: 'metrics'; metrics: MetricJson[] }
  | { e: 'artifact'; artifactPath: string; stored: string }
  | { e: 'inputs'; datasets: DatasetInput[] }
  | { e: 'status'; status: RunStatus; endTime?: number };

export interface StoredEvent {
  line: number;
  /** Byte offset of the line's start in the run file. */
  byte: number;
  /** Byte offset just after the line's newline (where the next line starts). */
  next: number;
  event: StoreEvent;
}

export function metricFromJson(m: MetricJson): MetricPoint {
  const v = m.value;
  const value = typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
  return { key: m.key, value, timestamp: m.timestamp, step: m.step };
}

/** Walks up from `from` to the npm workspace root (package.json with "workspaces"); falls back to `from`. */
export function workspaceRoot(from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }).workspaces) return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return resolve(from);
    dir = up;
  }
}

/**
 * Where `--dry-run` runs are tracked: a throwaway store under the git-ignored runs/. A dry run (synthetic data, two
 * steps) checks that everything builds; in the project's store it would count as a finished cell of its preset.
 */
export function dryRunStoreDir(): string {
  return join(workspaceRoot(), 'runs', 'dry-run', 'tracking-store');
}

/** UNIGRAD_TRACKING_DIR, else <workspace root>/tracking-store. */
export function defaultStoreDir(): string {
  return process.env.UNIGRAD_TRACKING_DIR ? resolve(process.env.UNIGRAD_TRACKING_DIR) : join(workspaceRoot(), 'tracking-store');
}

const RUN_ID = /^[0-9a-f]{32}$/;

export class RunStore {
  readonly dir: string;

  constructor(dir: string = defaultStoreDir()) {
    this.dir = resolve(dir);
  }

  runFile(id: string): string {
    if (!RUN_ID.test(id)) throw new Error(`tracking: '${id}' is not a run id of this store (32 hex characters).`);
    return join(this.dir, 'runs', `${id}.jsonl`);
  }

  artifactDir(id: string): string {
    return join(this.dir, 'artifacts', id);
  }

  syncDir(): string {
    return join(this.dir, 'sync');
  }

  createRun(init: Omit<Extract<StoreEvent, { e: 'run' }>, 'e' | 'id'>): RunWriter {
    const id = randomUUID().replace(/-/g, '');
    const writer = new RunWriter(this, id);
    writer.append({ e: 'run', id, ...init });
    return writer;
  }

  /** A writer appending to an existing run (a resume). */
  openRun(id: string): RunWriter {
    if (!existsSync(this.runFile(id))) throw new Error(`tracking: no run ${id} in ${this.dir}.`);
    return new RunWriter(this, id);
  }

  listRunIds(): string[] {
    const runs = join(this.dir, 'runs');
    if (!existsSync(runs)) return [];
    return readdirSync(runs)
      .filter((f) => f.endsWith('.jsonl') && RUN_ID.test(f.slice(0, -6)))
      .map((f) => f.slice(0, -6))
      .sort();
  }

  /** Events from byte offset `fromByte` (a line start) on, numbered from `fromLine`; a torn last line is skipped. */
  readEvents(id: string, fromLine = 0, fromByte = 0): StoredEvent[] {
    const fd = openSync(this.runFile(id), 'r');
    let buf: Buffer;
    try {
      const size = fstatSync(fd).size;
      buf = Buffer.alloc(Math.max(0, size - fromByte));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, fromByte + got);
        if (n === 0) break;
        got += n;
      }
      buf = buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
    const out: StoredEvent[] = [];
    let line = fromLine;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break; // no newline: torn or still being written
      const text = buf.toString('utf8', start, nl);
      try {
        out.push({ line, byte: fromByte + start, next: fromByte + nl + 1, event: JSON.parse(text) as StoreEvent });
      } catch {
        throw new Error(`tracking: ${this.runFile(id)} line ${line + 1} is not valid JSON; the store is damaged there.`);
      }
      line++;
      start = nl + 1;
    }
    return out;
  }

  /** The first event of a run file (its 'run' event), reading only as much of the file as needed. */
  readRunEvent(id: string): Extract<StoreEvent, { e: 'run' }> | undefined {
    const fd = openSync(this.runFile(id), 'r');
    try {
      let text = '';
      const chunk = Buffer.alloc(16384);
      for (let pos = 0; ; ) {
        const n = readSync(fd, chunk, 0, chunk.length, pos);
        if (n === 0) return undefined;
        pos += n;
        text += chunk.toString('utf8', 0, n);
        const nl = text.indexOf('\n');
        if (nl >= 0) {
          const ev = JSON.parse(text.slice(0, nl)) as StoreEvent;
          return ev.e === 'run' ? ev : undefined;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Folds a run's events into a TrackedRun. */
  readRun(id: string, withHistory = false): TrackedRun {
    const events = this.readEvents(id);
    const first = events[0]?.event;
    if (!first || first.e !== 'run') throw new Error(`tracking: ${this.runFile(id)} does not start with a run event.`);
    const run: TrackedRun = {
      id,
      experiment: first.experiment,
      runName: first.runName,
      status: 'RUNNING',
      startTime: first.startTime,
      parentId: first.parentId,
      params: {},
      tags: Object.fromEntries(first.tags.map((t) => [t.key, t.value])),
      metrics: {},
    };
    const latest: Record<string, MetricPoint> = {};
    const history: Record<string, MetricPoint[]> = {};
    for (const { event } of events.slice(1)) {
      if (event.e === 'params') for (const p of event.params) run.params[p.key] = p.value;
      else if (event.e === 'tags') for (const t of event.tags) run.tags[t.key] = t.value;
      else if (event.e === 'status') {
        run.status = event.status;
        run.endTime = event.endTime;
      } else if (event.e === 'metrics') {
        for (const j of event.metrics) {
          const m = metricFromJson(j);
          const prev = latest[m.key];
          // MLflow's "latest" metric: highest step, ties broken by latest timestamp.
          if (!prev || m.step > prev.step || (m.step === prev.step && m.timestamp >= prev.timestamp)) latest[m.key] = m;
          if (withHistory) (history[m.key] ??= []).push(m);
        }
      }
    }
    run.metrics = Object.fromEntries(Object.entries(latest).map(([k, m]) => [k, m.value]));
    if (withHistory) run.metricHistory = history;
    return run;
  }

  listRuns(withHistory = false): TrackedRun[] {
    return this.listRunIds().map((id) => this.readRun(id, withHistory));
  }

  /**
   * The run's current status, reading only the file's tail when it holds a status event (the usual case: a
   * finished run ends with one); falls back to folding the whole log.
   */
  currentStatus(id: string): RunStatus {
    const file = this.runFile(id);
    const size = statSync(file).size;
    const tail = 64 * 1024;
    if (size > tail) {
      const fd = openSync(file, 'r');
      try {
        const buf = Buffer.alloc(tail);
        const n = readSync(fd, buf, 0, tail, size - tail);
        const lines = buf.toString('utf8', 0, n).split('\n').slice(1); // the first piece may be a partial line
        for (let i = lines.length - 1; i >= 0; i--) {
          if (!lines[i].includes('"e":"status"')) continue;
          try {
            const ev = JSON.parse(lines[i]) as StoreEvent;
            if (ev.e === 'status') return ev.status;
          } catch {
            // a torn last line: keep looking
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    return this.readRun(id).status;
  }

  /** Appends one event to an existing run's log (one write on an O_APPEND descriptor), e.g. a status for a dead run. */
  appendEvent(id: string, event: StoreEvent): void {
    if (!existsSync(this.runFile(id))) throw new Error(`tracking: no run ${id} in ${this.dir}.`);
    const w = new RunWriter(this, id);
    try {
      w.append(event);
    } finally {
      w.close();
    }
  }
}

/** Appends events to one run's log. Holds an O_APPEND descriptor; every event is a single write of one line. */
export class RunWriter {
  private fd: number | undefined;

  constructor(
    readonly store: RunStore,
    readonly id: string,
  ) {
    const file = store.runFile(id);
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
  }

  append(event: StoreEvent): void {
    if (this.fd === undefined) throw new Error(`tracking: run ${this.id} is closed; it can not take more events.`);
    const line = Buffer.from(JSON.stringify(event) + '\n', 'utf8');
    let off = 0;
    while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
  }

  appendMetrics(metrics: MetricPoint[]): void {
    this.append({ e: 'metrics', metrics: metrics.map(metricToJson) });
  }

  /** Copies a file into the store so the artifact survives until it is synced, then records it. */
  copyArtifact(localPath: string, artifactPath: string): void {
    const rel = artifactPath.split('/').filter((p) => p.length > 0);
    if (rel.length === 0 || rel.some((p) => p === '..' || p === '.')) {
      throw new Error(`tracking: artifact path '${artifactPath}' must be a relative path without '.' or '..'.`);
    }
    const stored = rel.join('/');
    const dest = join(this.store.artifactDir(this.id), ...rel);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(localPath, dest);
    this.append({ e: 'artifact', artifactPath: stored, stored });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
