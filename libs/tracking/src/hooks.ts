// Process hooks so a Ctrl-C or kill marks open runs KILLED and a crash marks them FAILED, instead of leaving
// them RUNNING forever. The status is written to disk synchronously first; delivery to a server is attempted
// for a few seconds before the process exits, and otherwise happens on the next sync.
import type { EndStatus } from './types';
import type { RunHandle, StartRunOptions, Tracker } from './tracker';

export interface RunGuardOptions {
  /** How long to try delivering to the server before exiting (default 5 s). */
  flushTimeoutMs?: number;
  /** Injected for tests. */
  exit?: (code: number) => void;
  log?: (message: string) => void;
}

function endAll(tracker: Tracker, status: EndStatus): number {
  const runs = tracker.openRuns();
  // Children first, so a parent never ends before its children in the log.
  for (const run of runs.reverse()) run.endNow(status);
  return runs.length;
}

/** Installs SIGINT/SIGTERM and uncaught-error hooks; returns a function that removes them. */
export function installRunGuards(tracker: Tracker, options: RunGuardOptions = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = options.log ?? ((m: string) => console.error(m));
  const timeout = options.flushTimeoutMs ?? 5000;
  let exiting = false;
  const finish = (status: EndStatus, code: number, why: string) => {
    if (exiting) return;
    exiting = true;
    const n = endAll(tracker, status);
    if (n > 0) log(`tracking: ${why}; marked ${n} open run(s) ${status}.`);
    void tracker.flush(timeout).finally(() => exit(code));
  };
  const onSigint = () => finish('KILLED', 130, 'interrupted (SIGINT)');
  const onSigterm = () => finish('KILLED', 143, 'terminated (SIGTERM)');
  const onError = (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    finish('FAILED', 1, 'uncaught error');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  };
}

/** Runs `body` inside a run: FINISHED when it returns, FAILED (and rethrown) when it throws. */
export async function withRun<T>(tracker: Tracker, options: StartRunOptions, body: (run: RunHandle) => Promise<T>): Promise<T> {
  const run = await tracker.startRun(options);
  try {
    const result = await body(run);
    await run.end('FINISHED');
    return result;
  } catch (err) {
    if (!run.ended) await run.end('FAILED');
    throw err;
  }
}
