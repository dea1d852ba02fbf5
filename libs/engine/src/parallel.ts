// Table cells in N processes at once (the design of `reproduce --jobs N`): a quick- or fmnist-preset cell keeps
// about one core busy on average (the data pipeline, the probe and the process start are mostly single-threaded),
// so on a 2-core machine two cells at once with one TF thread each run the table about twice as fast as one cell
// with two threads (README "Performance": measured 291 vs ~140 cells/hour on the quick preset).
//
// Self-contained: it only plans and spawns child `reproduce` processes, each with a subset of the cells; the
// children share the tracking store (one append-only file per run, so concurrent runs never write the same file)
// and skip cells already complete there, as a single reproduce does. The caller regenerates the table once at the
// end. Not wired into apps/experiment (its owner decides the flag).
import { spawn } from 'node:child_process';

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

/** The argv of a child: `--seed S --seeds 1` (a bare `--seeds 42` would mean 42 seeds), no table. */
export function childArgs(task: ChildTask, extra: readonly string[] = []): string[] {
  return ['run', '--silent', 'reproduce', '--', '--rows', task.cells.join(','), '--seed', String(task.seed), '--seeds', '1', '--no-table', ...extra];
}

export interface ParallelOptions {
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
}

export interface ParallelResult {
  seconds: number;
  failed: { task: ChildTask; code: number | null }[];
  tasks: number;
}

/** Runs the plan: each slot runs its child tasks one after another, the slots at the same time. */
export async function runCellsInParallel(options: ParallelOptions): Promise<ParallelResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const plan = planJobs(options.cells, options.seeds, options.jobs);
  const threads = String(options.threadsPerJob ?? 1);
  const env = { ...(options.env ?? process.env), TF_NUM_INTRAOP_THREADS: threads, TF_NUM_INTEROP_THREADS: threads };
  const started = Date.now();
  const failed: ParallelResult['failed'] = [];
  await Promise.all(
    plan.map(async (queue, slot) => {
      for (const task of queue) {
        log(`[jobs] slot ${slot + 1}: ${task.cells.join(',')} seed ${task.seed}`);
        const code = await new Promise<number | null>((resolve) => {
          const child = spawn('npm', childArgs(task, options.extraArgs), { cwd: options.cwd, env, stdio: 'inherit' });
          child.on('close', resolve);
          child.on('error', () => resolve(null));
        });
        if (code !== 0) failed.push({ task, code });
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const tasks = plan.reduce((a, q) => a + q.length, 0);
  log(`[jobs] ${options.cells.length * options.seeds.length} cell runs in ${options.jobs} slots: ${seconds.toFixed(0)} s, ${failed.length} child(ren) failed`);
  return { seconds, failed, tasks };
}
