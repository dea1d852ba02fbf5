// Runs whose process died without ending them (SIGKILL, OOM killer, power loss) would stay RUNNING forever. Every
// run records its owner when it starts (pid, host and, on Linux, the process start time, so a recycled pid is
// not mistaken for the owner); `reapDeadRuns` marks RUNNING runs whose owner is gone on this host as KILLED in
// the store. The status is an ordinary event of the run's log, so it reaches a server by the usual delivery
// (the next tracker against that server, or `npm run mlflow:sync`).
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { RunStore } from './store';
import type { EndStatus, TrackedRun } from './types';

/** Tags every run carries about the process that owns it. */
export const OWNER_TAGS = {
  pid: 'unigrad.pid',
  host: 'unigrad.host',
  /** Start time of the owning process in clock ticks since boot (/proc/<pid>/stat field 22); Linux only. */
  processStart: 'unigrad.pid_start',
} as const;

/** Tag set on a run marked dead by `reapDeadRuns`, saying why and by whom. */
export const END_REASON_TAG = 'unigrad.end_reason';

/** The start time of a process in clock ticks since boot, or undefined where /proc is not available. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces; the fields after the last ')' start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[22 - 3] || undefined;
  } catch {
    return undefined;
  }
}

/** The owner tags for this process (recorded by the tracker on every run it starts, and again on a resume). */
export function ownerTags(pid = process.pid): Record<string, string> {
  const tags: Record<string, string> = { [OWNER_TAGS.pid]: String(pid), [OWNER_TAGS.host]: hostname() };
  const start = processStartTicks(pid);
  if (start) tags[OWNER_TAGS.processStart] = start;
  return tags;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * 'alive': the owning process still runs on this host; 'dead': it ran on this host and is gone (or its pid now
 * belongs to a younger process); 'unknown': no owner tags (runs from before they existed) or another host.
 */
export function ownerState(tags: Record<string, string>): 'alive' | 'dead' | 'unknown' {
  const pid = Number(tags[OWNER_TAGS.pid]);
  if (!Number.isInteger(pid) || pid <= 0 || tags[OWNER_TAGS.host] !== hostname()) return 'unknown';
  if (pid === process.pid) {
    const mine = processStartTicks(pid);
    return !tags[OWNER_TAGS.processStart] || !mine || mine === tags[OWNER_TAGS.processStart] ? 'alive' : 'dead';
  }
  if (!pidExists(pid)) return 'dead';
  const recorded = tags[OWNER_TAGS.processStart];
  const now = recorded ? processStartTicks(pid) : undefined;
  return recorded && now && now !== recorded ? 'dead' : 'alive';
}

export interface ReapedRun {
  id: string;
  experiment: string;
  runName: string;
  pid: number;
  host: string;
  status: EndStatus;
  /** When the dead process last wrote to the run (the log file's modification time), used as the end time. */
  endTime: number;
}

export interface ReapOptions {
  /** The store to check (default: UNIGRAD_TRACKING_DIR or <workspace>/tracking-store). */
  store?: RunStore;
  storeDir?: string;
  /** Status for dead runs (default KILLED: the process was killed or crashed without a handler). */
  status?: EndStatus;
  /** Only these run ids (e.g. the run a resume is about to continue). */
  ids?: string[];
  log?: (message: string) => void;
}

/**
 * Marks every RUNNING run whose owning process is gone on this host as `status` (default KILLED) in the store,
 * with an `unigrad.end_reason` tag, and returns them. Runs of live processes, of other hosts and without owner
 * tags are left alone. Safe to call at any time from any process; never touches a server itself (the status is
 * delivered like any other event: by the next tracker against the run's server, or by `npm run mlflow:sync`).
 */
export function reapDeadRuns(options: ReapOptions = {}): ReapedRun[] {
  const store = options.store ?? new RunStore(options.storeDir);
  const status = options.status ?? 'KILLED';
  const reaped: ReapedRun[] = [];
  for (const id of options.ids ?? store.listRunIds()) {
    let run: TrackedRun;
    try {
      if (store.currentStatus(id) !== 'RUNNING') continue;
      run = store.readRun(id);
    } catch (err) {
      options.log?.(`tracking: can not check run ${id} for a dead owner: ${(err as Error).message}`);
      continue;
    }
    if (run.status !== 'RUNNING' || ownerState(run.tags) !== 'dead') continue;
    const pid = Number(run.tags[OWNER_TAGS.pid]);
    const host = run.tags[OWNER_TAGS.host];
    const endTime = Math.max(run.startTime, Math.round(statSync(store.runFile(id)).mtimeMs));
    const why = `process ${pid} on ${host} ended without ending the run (killed or crashed); marked ${status} by process ${process.pid} at ${new Date().toISOString()}`;
    store.appendEvent(id, { e: 'tags', tags: [{ key: END_REASON_TAG, value: why }] });
    store.appendEvent(id, { e: 'status', status, endTime });
    reaped.push({ id, experiment: run.experiment, runName: run.runName, pid, host, status, endTime });
    options.log?.(`tracking: run '${run.runName}' (${id}) was still RUNNING: ${why}.`);
  }
  return reaped;
}
