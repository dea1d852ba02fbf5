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

/** One cell run of the table: a cell id (`simclr:grad-mm`) and a seed. */
export interface CellRun {
  cell: string;
  seed: number;
}

/**
 * Splits the (cell, seed) runs still to do over `jobs` slots: every slot gets a queue of child tasks, one per seed,
 * holding the runs dealt to it round-robin in order (so slow and fast rows spread over the slots and each child
 * amortises its start). Never more slots than runs.
 */
export function planJobs(runs: readonly CellRun[], jobs: number): ChildTask[][] {
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`jobs must be an integer >= 1, got ${jobs}`);
  const slots: Map<number, string[]>[] = Array.from({ length: Math.min(jobs, Math.max(1, runs.length)) }, () => new Map());
  runs.forEach((run, i) => {
    const slot = slots[i % slots.length];
    slot.set(run.seed, [...(slot.get(run.seed) ?? []), run.cell]);
  });
  return slots.map((slot) => [...slot].map(([seed, cells]) => ({ cells, seed })));
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
  runs: CellRun[];
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

/** How a child ended: its exit code, or the signal that killed it, or why it could not start. */
export interface ChildFailure {
  task: ChildTask;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
}

export interface ParallelResult {
  seconds: number;
  failed: ChildFailure[];
  tasks: number;
  /** A stop request ended the run early (the children stopped with their cells checkpointed). */
  interrupted: boolean;
}

/** One line for a failed child: `simclr:grad-mm seed 42 (exit 1)`, `… (killed by SIGKILL)`, `… (not started: …)`. */
export function describeFailure(f: ChildFailure): string {
  const how = f.error ? `not started: ${f.error}` : f.signal ? `killed by ${f.signal}` : `exit ${f.code}`;
  return `${f.task.cells.join(',')} seed ${f.task.seed} (${how})`;
}

/**
 * Runs the plan: each slot runs its child tasks one after another, the slots at the same time. Children run in
 * process groups of their own, so a terminal's Ctrl-C reaches the parent only and each child gets exactly the
 * signals the parent passes on: the first stop request once (the child checkpoints and stops), and, if the parent
 * is made to quit at once by a second signal, that one too as it exits (the children quit at once as well, their
 * last checkpoint intact), so no child outlives its parent.
 */
export async function runCellsInParallel(options: ParallelOptions): Promise<ParallelResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const plan = planJobs(options.runs, options.jobs);
  const threads = String(options.threadsPerJob ?? 1);
  const env = { ...(options.env ?? process.env), TF_NUM_INTRAOP_THREADS: threads, TF_NUM_INTEROP_THREADS: threads };
  const started = Date.now();
  const failed: ChildFailure[] = [];
  const running = new Set<ChildProcess>();
  const signalOf = () => options.stop?.signal ?? 'SIGTERM';
  let forwarded = false;
  const forward = setInterval(() => {
    if (forwarded || !options.stop?.requested) return;
    forwarded = true;
    log(`[jobs] ${signalOf()}: passing it on to ${running.size} running child(ren); they checkpoint and stop`);
    for (const child of running) child.kill(signalOf());
  }, 200);
  const onExit = () => {
    for (const child of running) child.kill(signalOf());
  };
  process.on('exit', onExit);
  const runTask = (task: ChildTask) =>
    new Promise<ChildFailure | undefined>((resolve) => {
      const [program, ...prefix] = options.command;
      let error: string | undefined;
      try {
        const child = spawn(program, [...prefix, ...childArgs(task, options.extraArgs)], { cwd: options.cwd, env, stdio: 'inherit', detached: true });
        running.add(child);
        child.on('error', (err) => (error = err.message));
        child.on('close', (code, signal) => {
          running.delete(child);
          resolve(code === 0 ? undefined : { task, code, signal, error });
        });
      } catch (err) {
        resolve({ task, code: null, signal: null, error: (err as Error).message });
      }
    });
  try {
    await Promise.all(
      plan.map(async (queue, slot) => {
        for (const task of queue) {
          if (options.stop?.requested) return;
          log(`[jobs] slot ${slot + 1}: ${task.cells.join(',')} seed ${task.seed}`);
          const failure = await runTask(task);
          if (failure) failed.push(failure);
        }
      }),
    );
  } finally {
    clearInterval(forward);
    process.off('exit', onExit);
  }
  const seconds = (Date.now() - started) / 1000;
  const tasks = plan.reduce((a, q) => a + q.length, 0);
  const interrupted = Boolean(options.stop?.requested);
  log(`[jobs] ${options.runs.length} cell runs in ${plan.length} slot(s): ${seconds.toFixed(0)} s${interrupted ? ', interrupted' : ''}, ${failed.length} child(ren) failed`);
  return { seconds, failed, tasks, interrupted };
}
