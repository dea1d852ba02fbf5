// Running a set of table cells for a set of seeds: skip what the store already holds, run the rest in order,
// stop cleanly on a signal. `npm run reproduce` is a thin main around this.
import type { PretrainConfig } from '@unigrad/configs';
import type { Experiment } from '@unigrad/experiments';
import type { Tracker, TrackedRun } from '@unigrad/tracking';
import { isComplete, runCell, type CellOutcome } from './cell';
import { formatDuration } from './progress';
import type { StopRequest } from './signals';

/** `--seeds 2` → the config seed and the next one; `--seeds 42,7` → exactly those. */
export function selectSeeds(spec: string | undefined, baseSeed: number): number[] {
  if (!spec) return [baseSeed];
  if (/^\d+$/.test(spec)) {
    const count = Number(spec);
    if (count < 1 || count > 100) throw new Error(`--seeds ${spec}: a count must be in 1..100 (or give a list like 42,43)`);
    return Array.from({ length: count }, (_, i) => baseSeed + i);
  }
  const seeds = spec.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds ${spec}: expected a count or a comma list of integers`);
  return seeds;
}

export interface CellJob {
  experiment: Experiment;
  seed: number;
  config: PretrainConfig;
}

export interface TableRunOptions {
  jobs: CellJob[];
  tracker: Tracker;
  /** Runs already in the store (completed cells are skipped unless `force`). */
  done: TrackedRun[];
  force?: boolean;
  /** The app's stop request: a signal finishes (and checkpoints) the running cell and launches no more. */
  stop?: StopRequest;
  log?: (line: string) => void;
}

export interface TableRunResult {
  ran: { job: CellJob; outcome: CellOutcome }[];
  skipped: number;
  interrupted: boolean;
  seconds: number;
}

export async function runTableCells(options: TableRunOptions): Promise<TableRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const todo = options.jobs.filter((job) => options.force || !isComplete(options.done, job.experiment, job.config));
  const skipped = options.jobs.length - todo.length;
  const presets = [...new Set(options.jobs.map((j) => j.config.preset))].join(', ');
  const cells = new Set(options.jobs.map((j) => j.experiment.id)).size;
  const seeds = new Set(options.jobs.map((j) => j.seed)).size;
  log(`[reproduce] preset ${presets}: ${options.jobs.length} cell runs (${cells} cells × ${seeds} seeds), ${skipped} already complete, ${todo.length} to run`);
  const started = Date.now();
  const ran: TableRunResult['ran'] = [];
  for (const [i, job] of todo.entries()) {
    const elapsed = (Date.now() - started) / 1000;
    const eta = i > 0 ? formatDuration((elapsed / i) * (todo.length - i)) : '?';
    log(`\n[reproduce] (${i + 1}/${todo.length}) ${job.experiment.id} seed ${job.seed} — elapsed ${formatDuration(elapsed)}, overall ETA ${eta}`);
    const outcome = await runCell(job.experiment, job.config, options.tracker, { stop: options.stop, force: options.force });
    await options.tracker.flush();
    ran.push({ job, outcome });
    if (outcome.interrupted || options.stop?.requested) {
      log('[reproduce] interrupted: finished cells are kept; run the same command again to continue');
      return { ran, skipped, interrupted: true, seconds: (Date.now() - started) / 1000 };
    }
    log(`[reproduce] ${job.experiment.id} seed ${job.seed}: probe top-1 ${(100 * outcome.top1).toFixed(2)}% (row run ${outcome.rowRunId})`);
  }
  const seconds = (Date.now() - started) / 1000;
  if (ran.length) log(`[reproduce] ${ran.length} cell run(s) in ${formatDuration(seconds)} (${((ran.length * 3600) / Math.max(seconds, 1e-9)).toFixed(1)} cells/hour)`);
  return { ran, skipped, interrupted: false, seconds };
}
