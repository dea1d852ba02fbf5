// npm run reproduce -- [--preset quick|fmnist|fmnist-wide|paper] [--rows all|<id>,<id>,…] [--seeds 2 | 42,43] [--force]
//                      [--list] [--dry-run] [--no-table] [--table-out DIR] [--<config key> <value> …]   (--help)
//                      [--jobs N] [--scheduler slurm [--partition P --gres gpu:1 --time HH:MM:SS --max-parallel K]]
// Runs the chosen table cells (pretrain → probe → tracking) for each seed, skips cells already complete for that
// preset and seed in the tracking store (so a table can be built across sittings), then regenerates the table.
import { initBackend } from '@unigrad/core';
import { CLAIMS, CONFIG_FLAGS, ConfigError, EXIT, configFromSources, exitWithError, getPreset, optionalIntFlag, parseCli, type CliSpec, type FlagValues } from '@unigrad/configs';
import { StopRequest, describeFailure, isComplete, runCellsInParallel, runTableCells, selectSeeds, submitTableToSlurm, type CellJob } from '@unigrad/engine';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { selectCells } from '@unigrad/experiments';
import { createTracker, listRuns, workspaceRoot, writeResults, type TrackedRun } from '@unigrad/tracking';

const { experiment: _experimentFlag, ...configFlags } = CONFIG_FLAGS;
const CLI: CliSpec = {
  usage: 'npm run reproduce -- [options] [--<config key> <value> ...]',
  summary: 'Runs table cells (pretrain → probe → tracking) for each seed, skipping cells already complete in the store, then regenerates the results table.',
  flags: {
    ...configFlags,
    'dry-run': { type: 'boolean', description: 'tiny synthetic data, batch 8, two steps; with --scheduler slurm: print the job scripts and submit nothing' },
    rows: { type: 'string', valueName: 'cells', description: "'all' (default), cell ids (simclr:grad-mm), rows (simclr) or variants (grad-mm), comma-separated" },
    seeds: { type: 'string', valueName: 'n|list', description: 'a count (2 → seed, seed+1) or a list (42,43); default: the config seed' },
    force: { type: 'boolean', description: "rerun cells that are already complete, starting them over (an interrupted cell otherwise resumes from its checkpoint)" },
    list: { type: 'boolean', description: 'list the chosen cells and exit' },
    'no-table': { type: 'boolean', description: 'do not regenerate RESULTS.md / results.csv / results.svg' },
    'table-out': { type: 'string', valueName: 'dir', description: 'write the table files here [the workspace root; runs/tables/quick for the quick preset]' },
    jobs: { type: 'string', valueName: 'n', description: 'local: run n cells at once, each in its own process with cores/n TF threads [1]; on 2 cores, 2 finish the table ~2× sooner (README "Performance")' },
    scheduler: { type: 'string', valueName: 'local|slurm', description: "'local' runs the cells here in turn [local]; 'slurm' submits one job array (needs MLFLOW_TRACKING_URI)" },
    partition: { type: 'string', valueName: 'name', description: 'slurm: partition' },
    gres: { type: 'string', valueName: 'spec', description: 'slurm: generic resources per element, e.g. gpu:1' },
    time: { type: 'string', valueName: 'HH:MM:SS', description: 'slurm: time limit per element (SIGTERM 120 s before it: the element checkpoints)' },
    'max-parallel': { type: 'string', valueName: 'k', description: 'slurm: at most k elements at once' },
  },
  configKeys: true,
  exitCodes: { [EXIT.runtime]: 'data or runtime error', [EXIT.usage]: 'bad usage or config', [EXIT.sigint]: 'stopped by SIGINT (finished cells kept, the running one checkpointed)', [EXIT.sigterm]: 'stopped by SIGTERM (same)' },
};

/** The arguments each SLURM element passes on to its own `reproduce` (everything that shapes the config). */
function passThroughArgs(flags: FlagValues, configValues: Record<string, string>): string[] {
  const args: string[] = [];
  if (typeof flags.preset === 'string') args.push('--preset', flags.preset);
  if (typeof flags.config === 'string') args.push('--config', resolve(flags.config));
  if (flags.force) args.push('--force');
  for (const [key, value] of Object.entries(configValues)) args.push(`--${key}`, value);
  return args;
}

/** Cell runs per hour of wall time, as reproduce reports a table's throughput. */
function cellsPerHour(cells: number, seconds: number): string {
  return `${((cells * 3600) / Math.max(seconds, 1e-9)).toFixed(1)} cells/hour`;
}

/** Runs that are complete somewhere: the embedded store and, when set, the MLflow server. */
async function completedRuns(storeDir: string, required: boolean): Promise<TrackedRun[]> {
  const runs = await listRuns({ source: 'embedded', storeDir });
  const uri = process.env.MLFLOW_TRACKING_URI;
  if (!uri) return runs;
  try {
    return [...runs, ...(await listRuns({ source: 'mlflow', trackingUri: uri }))];
  } catch (err) {
    if (required) throw new Error(`cannot read completed cells from the MLflow server ${uri}: ${(err as Error).message}`);
    console.warn(`[reproduce] MLflow server ${uri} not readable (${(err as Error).message}); completed cells are taken from the embedded store only`);
    return runs;
  }
}

async function main(): Promise<void> {
  const { flags, configValues } = parseCli(process.argv.slice(2), CLI);
  const scheduler = typeof flags.scheduler === 'string' ? flags.scheduler : 'local';
  if (scheduler !== 'local' && scheduler !== 'slurm') throw new ConfigError(`--scheduler must be 'local' or 'slurm', got '${scheduler}'`);
  const slurmOnly = ['partition', 'gres', 'time', 'max-parallel'].filter((f) => flags[f] !== undefined);
  if (scheduler === 'local' && slurmOnly.length) throw new ConfigError(`${slurmOnly.map((f) => `--${f}`).join(', ')} only apply with --scheduler slurm`);
  const parallelJobs = optionalIntFlag(flags, 'jobs') ?? 1;
  if (parallelJobs > 1 && scheduler === 'slurm') throw new ConfigError('--jobs applies to --scheduler local; on SLURM use --max-parallel');
  if (scheduler === 'slurm' && !process.env.MLFLOW_TRACKING_URI) {
    throw new ConfigError('--scheduler slurm needs MLFLOW_TRACKING_URI: every element reports to one MLflow server (e.g. MLFLOW_TRACKING_URI=http://host:5000; `npm run mlflow` starts one)');
  }
  const slurmDryRun = scheduler === 'slurm' && Boolean(flags['dry-run']);
  if (slurmDryRun) flags['dry-run'] = undefined; // with slurm, --dry-run prints the scripts instead of shrinking the run
  const cells = selectCells(typeof flags.rows === 'string' ? flags.rows : 'all');
  const preset = getPreset(typeof flags.preset === 'string' ? flags.preset : 'quick');
  const base = configFromSources({ preset, flags, configValues });
  const seeds = selectSeeds(typeof flags.seeds === 'string' ? flags.seeds : undefined, base.seed);
  if (flags.list) {
    for (const e of cells) console.log(`${e.id.padEnd(26)} ${e.description}`);
    return;
  }
  // Every cell's config is resolved (and so validated) before anything runs.
  const jobs: CellJob[] = seeds.flatMap((seed) =>
    cells.map((experiment) => ({ experiment, seed, config: configFromSources({ preset, experiment: experiment.overrides, flags, configValues, after: [{ seed }] }) })),
  );
  if (scheduler === 'slurm') {
    const done = await completedRuns(createTracker().store.dir, !slurmDryRun);
    const todo = jobs.filter((job) => flags.force || !isComplete(done, job.experiment, job.config));
    console.log(`[reproduce] ${jobs.length} cell runs, ${jobs.length - todo.length} already complete, ${todo.length} to submit`);
    if (!todo.length) return;
    const submission = await submitTableToSlurm({
      jobs: todo,
      workspace: workspaceRoot(),
      passThrough: passThroughArgs(flags, configValues),
      partition: typeof flags.partition === 'string' ? flags.partition : undefined,
      gres: typeof flags.gres === 'string' ? flags.gres : undefined,
      time: typeof flags.time === 'string' ? flags.time : undefined,
      maxParallel: optionalIntFlag(flags, 'max-parallel'),
      tableOut: typeof flags['table-out'] === 'string' ? resolve(flags['table-out']) : undefined,
      dryRun: slurmDryRun,
    });
    if (submission.dryRun) {
      for (const file of [submission.scripts.tasks, submission.scripts.array, submission.scripts.after]) if (file) console.log(`----- ${file.path}\n${file.content}`);
      console.log('[reproduce] dry run: nothing written or submitted');
      return;
    }
    console.log(`[reproduce] submitted job array ${submission.arrayJobId} (${todo.length} elements) and table job ${submission.afterJobId}; follow with:`);
    for (const line of submission.follow) console.log(`  ${line}`);
    return;
  }
  const stop = new StopRequest('reproduce').install();
  // A dry run (a build check on synthetic data) never skips or resumes: its throwaway store and checkpoints are
  // overwritten, and cells complete in the real store or on the MLflow server do not count.
  const dryRun = Boolean(flags['dry-run']);
  const force = Boolean(flags.force) || dryRun;
  const tracker = createTracker({ dryRun });
  const done = dryRun ? [] : await completedRuns(tracker.store.dir, false);
  let interrupted: boolean;
  let childFailure: Error | undefined; // reported after the table is regenerated from the cells that did finish
  if (parallelJobs > 1) {
    // N child reproduces (one per slot), each given its share of the cells still to run; they skip, resume and
    // track exactly as this process would, sharing the store. The table is regenerated here, once.
    const todo = jobs.filter((job) => force || !isComplete(done, job.experiment, job.config));
    const slots = Math.max(1, Math.min(parallelJobs, todo.length));
    console.log(`[reproduce] ${jobs.length} cell runs, ${jobs.length - todo.length} already complete, ${todo.length} to run in ${slots} processes`);
    const { seed: _seed, ...perChild } = configValues; // each child gets its own --seed
    const extraArgs = [...passThroughArgs(flags, perChild), ...(flags['dry-run'] ? ['--dry-run'] : [])];
    const result = await runCellsInParallel({
      // This very app, started the way `npm run reproduce` starts it, minus npm (which would not pass a SIGTERM on).
      command: [process.execPath, require.resolve('ts-node/dist/bin.js'), '--transpile-only', __filename],
      runs: todo.map((job) => ({ cell: job.experiment.id, seed: job.seed })),
      jobs: slots,
      threadsPerJob: Math.max(1, Math.floor(availableParallelism() / slots)),
      extraArgs,
      stop,
    });
    interrupted = result.interrupted;
    if (todo.length && !interrupted) console.log(`[reproduce] ${todo.length} cell run(s) in ${result.seconds.toFixed(0)} s (${cellsPerHour(todo.length, result.seconds)}, ${parallelJobs} at once)`);
    if (result.failed.length && !interrupted) {
      const which = result.failed.map(describeFailure).join('; ');
      childFailure = new Error(`${result.failed.length} child reproduce(s) failed: ${which}; their output is above; run the same command again to retry them (finished cells are kept)`);
    }
  } else {
    await initBackend();
    interrupted = (await runTableCells({ jobs, tracker, done, force, stop })).interrupted;
  }
  if (!flags['no-table']) {
    // Every preset in the store, so running one preset never drops another's table from RESULTS.md. The quick
    // preset (a pipeline check, the README's first command) writes into the git-ignored runs/ unless told otherwise,
    // so running it never changes committed files; a dry run's table goes under runs/dry-run with its store.
    const out = typeof flags['table-out'] === 'string' ? flags['table-out'] : flags['dry-run'] ? join(workspaceRoot(), 'runs', 'dry-run', 'tables') : base.preset === 'quick' ? join(workspaceRoot(), 'runs', 'tables', 'quick') : undefined;
    if (out) mkdirSync(out, { recursive: true });
    const table = writeResults({
      runs: await listRuns({ source: 'embedded', storeDir: tracker.store.dir }),
      out,
      claims: CLAIMS,
      sourceLabel: `the embedded store (${relative(workspaceRoot(), tracker.store.dir) || '.'})`,
    });
    for (const w of table.warnings) console.warn(`table: ${w}`);
    console.log(`table: ${table.summary}`);
    for (const line of table.claimsText) console.log(line);
  }
  if (interrupted) process.exit(stop.requested ? stop.exitCode() : EXIT.sigint);
  if (childFailure) throw childFailure;
}

if (require.main === module) main().catch(exitWithError);
