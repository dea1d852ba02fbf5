// Table cells in N processes at once (the design of `reproduce --jobs N`): a quick- or fmnist-preset cell keeps
// about one core busy on average (the data pipeline, the probe and the process start are mostly single-threaded),
// so on a 2-core machine two cells at once with one TF thread each run the table about twice as fast as one cell
// with two threads (README "Performance": measured 291 vs ~140 cells/hour on the quick preset).
//
// Self-contained: it only plans and spawns child `reproduce` processes, each with a subset of the cells; the
// children share the tracking store (one append-only file per run, so concurrent runs never write the same file)
// and skip cells already complete there, as a single reproduce does. The caller regenerates the table once at the
// end. A stop request (Ctrl-C, SIGTERM to the parent) is passed on to every running child, which checkpoints its
// cell and exits as a single reproduce would; no further child is started.
import { spawn, type ChildProcess } from 'node:child_process';
import type { StopRequest } from './signals';

/** One child invocation: these cells for one seed. */
export interface ChildTask {
  cells: string[];
  seed: number;
}

/**
 * Splits (cell, seed) pairs over `jobs` slots: every slot gets a queue of child tasks, one per seed, holding the
 * cells dealt to it round-robin (so slow and fast rows spread over the slots and each child amortises its start).
 */
export function planJobs(cells: readonly string[], seeds: readonly number[], jobs: number): ChildTask[][] {
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`jobs must be an integer >= 1, got ${jobs}`);
  const slots: Map<number, string[]>[] = Array.from({ length: Math.min(jobs, Math.max(1, cells.length * seeds.length)) }, () => new Map());
  let i = 0;
  for (const seed of seeds) {
    for (const cell of cells) {
      const slot = slots[i++ % slots.length];
      slot.set(seed, [...(slot.get(seed) ?? []), cell]);
    }
  }
  return slots.map((slot) => [...slot].map(([seed, c]) => ({ cells: c, seed })));
}

/** The reproduce arguments of a child: `--seed S --seeds 1` (a bare `--seeds 42` would mean 42 seeds), no table. */
export function childArgs(task: ChildTask, extra: readonly string[] = []): string[] {
  return ['--rows', task.cells.join(','), '--seed', String(task.seed), '--seeds', '1', '--no-table', ...extra];
}

export interface ParallelOptions {
  /**
   * The argv that starts a child reproduce, before its arguments (e.g. node, ts-node's bin, --transpile-only, the
   * app's file). Not `npm run`: npm and its `sh -c` do not pass a SIGTERM on, and the child would outlive the stop.
   */
  command: readonly string[];
  cells: string[];
  seeds: number[];
  jobs: number;
  /** TF intra-op threads of each child (TF_NUM_INTRAOP_THREADS; OMP_NUM_THREADS has no effect on tfjs-node). */
  threadsPerJob?: number;
  /** More reproduce arguments for every child (--preset, config keys). */
  extraArgs?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** The parent's stop request: forwarded to the running children (their cells checkpoint), no child started after. */
  stop?: StopRequest;
}

export interface ParallelResult {
  seconds: number;
  failed: { task: ChildTask; code: number | null }[];
  tasks: number;
  /** A stop request ended the run early (the children stopped with their cells checkpointed). */
  interrupted: boolean;
}

/** Runs the plan: each slot runs its child tasks one after another, the slots at the same time. */
export async function runCellsInParallel(options: ParallelOptions): Promise<ParallelResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const plan = planJobs(options.cells, options.seeds, options.jobs);
  const threads = String(options.threadsPerJob ?? 1);
  const env = { ...(options.env ?? process.env), TF_NUM_INTRAOP_THREADS: threads, TF_NUM_INTEROP_THREADS: threads };
  const started = Date.now();
  const failed: ParallelResult['failed'] = [];
  const running = new Set<ChildProcess>();
  // Signals reach the parent's StopRequest; a child started in the same process group also gets a terminal's Ctrl-C
  // itself, but not a SIGTERM sent to the parent alone: pass the request on (once) to every child still running.
  let forwarded = false;
  const forward = setInterval(() => {
    if (forwarded || !options.stop?.requested) return;
    forwarded = true;
    log(`[jobs] ${options.stop.signal}: passing it on to ${running.size} running child(ren); they checkpoint and stop`);
    for (const child of running) child.kill(options.stop.signal ?? 'SIGTERM');
  }, 200);
  try {
    await Promise.all(
      plan.map(async (queue, slot) => {
        for (const task of queue) {
          if (options.stop?.requested) return;
          log(`[jobs] slot ${slot + 1}: ${task.cells.join(',')} seed ${task.seed}`);
          const code = await new Promise<number | null>((resolve) => {
            const [program, ...prefix] = options.command;
            const child = spawn(program, [...prefix, ...childArgs(task, options.extraArgs)], { cwd: options.cwd, env, stdio: 'inherit' });
            running.add(child);
            child.on('close', (exitCode) => {
              running.delete(child);
              resolve(exitCode);
            });
            child.on('error', () => resolve(null));
          });
          if (code !== 0) failed.push({ task, code });
        }
      }),
    );
  } finally {
    clearInterval(forward);
  }
  const seconds = (Date.now() - started) / 1000;
  const tasks = plan.reduce((a, q) => a + q.length, 0);
  const interrupted = Boolean(options.stop?.requested);
  log(`[jobs] ${options.cells.length * options.seeds.length} cell runs in ${options.jobs} slots: ${seconds.toFixed(0)} s${interrupted ? ', interrupted' : ''}, ${failed.length} child(ren) failed`);
  return { seconds, failed, tasks, interrupted };
}
