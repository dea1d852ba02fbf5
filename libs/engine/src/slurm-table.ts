// `reproduce --scheduler slurm`: the table's cells × seeds as one SLURM job array (libs/cluster), one element per
// cell and seed, each a plain `reproduce` of that one cell (so a requeued element resumes from its own checkpoint
// and a complete cell is skipped), plus a dependent job that regenerates the table from the MLflow server.
import { shellQuote, submitArray, type Submission } from '@unigrad/cluster';
import { join } from 'node:path';
import type { CellJob } from './table-run';

export interface SlurmTableOptions {
  /** Cells × seeds still to run (completed ones already filtered out). */
  jobs: CellJob[];
  /** The workspace on the shared filesystem: where every element runs. */
  workspace: string;
  /** Arguments every element passes on to its `reproduce` (preset, config file, config keys…). */
  passThrough: string[];
  partition?: string;
  gres?: string;
  time?: string;
  maxParallel?: number;
  /** Where the dependent job writes RESULTS.md / results.csv / results.svg (default: the workspace). */
  tableOut?: string;
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The command of one element: node runs ts-node directly (npm would stand between SLURM's SIGTERM and the run). */
export function elementCommand(workspace: string, job: CellJob, passThrough: string[]): string {
  const tsNode = join(workspace, 'node_modules', 'ts-node', 'dist', 'bin.js');
  // `--seed` (the config key), not `--seeds`: a bare number there is a count.
  const args = ['--transpile-only', 'apps/experiment/src/reproduce.ts', '--rows', job.experiment.id, '--no-table', ...passThrough, '--seed', String(job.seed)];
  return `exec node ${[tsNode, ...args].map(shellQuote).join(' ')}`;
}

export async function submitTableToSlurm(options: SlurmTableOptions): Promise<Submission> {
  const preset = options.jobs[0]?.config.preset ?? 'custom';
  const tsNode = join(options.workspace, 'node_modules', 'ts-node', 'dist', 'bin.js');
  const tableArgs = ['--transpile-only', 'tools/table.ts', '--source', 'mlflow', ...(options.tableOut ? ['--out', options.tableOut] : [])];
  return submitArray({
    name: `unigrad-${preset}`,
    tasks: options.jobs.map((job) => elementCommand(options.workspace, job, options.passThrough)),
    cwd: options.workspace,
    scriptDir: join(options.workspace, 'runs', 'slurm'),
    maxParallel: options.maxParallel,
    partition: options.partition,
    gres: options.gres,
    time: options.time,
    // Every element reports to one MLflow server: the embedded JSONL store is not safe across hosts (libs/cluster README).
    requireEnv: ['MLFLOW_TRACKING_URI'],
    after: { command: `node ${[tsNode, ...tableArgs].map(shellQuote).join(' ')}`, name: `unigrad-${preset}-table` },
    dryRun: options.dryRun,
    env: options.env,
  });
}
