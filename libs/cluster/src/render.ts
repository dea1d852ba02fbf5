// Pure renderers: the tasks file, the sbatch job-array script and the dependent ("after") job script.
// Nothing here touches the filesystem or runs a command; submit.ts validates, writes and submits.

/** The default `--signal`: SIGTERM to the batch process 120 s before the time limit (see README, "Signals"). */
export const DEFAULT_SIGNAL = 'B:TERM@120';

/** Placeholder for the array job id in a dry-run rendering of the after script. */
export const ARRAY_JOB_ID_PLACEHOLDER = '<arrayJobId>';

/** The sbatch options of an array (shared by the submission spec and the renderer). */
export interface SbatchResources {
  /** At most this many elements run at once (`--array=0-(N-1)%K`); omitted: no throttle. */
  maxParallel?: number;
  /** `--partition` (a comma list allowed). */
  partition?: string;
  /** `--gres`, e.g. `gpu:1`. */
  gres?: string;
  /** Wall-time limit per element (`--time`, `[D-]HH:MM:SS`, `MM`, ... as sbatch accepts). */
  time?: string;
  /** `--signal` value; default {@link DEFAULT_SIGNAL} (SIGTERM to the exec'd task 120 s before the time limit). */
  signal?: string;
  /** `--requeue` (default true) or `--no-requeue`. */
  requeue?: boolean;
  cpusPerTask?: number;
  /** e.g. `8G`. */
  mem?: string;
  /** Extra `#SBATCH` options, each one token such as `--account=ssl` or `--qos=long`, added to both scripts. */
  sbatchOptions?: readonly string[];
  /** Environment variables that must be set (non-empty): checked before submitting and again inside each job. */
  requireEnv?: readonly string[];
}

export interface ArrayScriptInput extends SbatchResources {
  /** Job name (`--job-name`). */
  name: string;
  /** Number of array elements: `--array=0-(taskCount-1)`. */
  taskCount: number;
  /** Absolute path of the tasks file (one command line per element). */
  tasksFile: string;
  /** Absolute working directory of every element. */
  cwd: string;
  /** Absolute directory of the per-element logs `<logDir>/%A_%a.out`. */
  logDir: string;
}

export interface AfterScriptInput {
  /** Job name of the dependent job. */
  name: string;
  /** The array job it waits for (`--dependency=afterany:<id>`): all elements, whatever their exit status. */
  arrayJobId: string;
  /** Shell command to run once every element ended (e.g. the table regeneration). */
  command: string;
  cwd: string;
  /** Its log: `<logDir>/%x_%j.out` (job name, job id). */
  logDir: string;
  partition?: string;
  time?: string;
  sbatchOptions?: readonly string[];
  requireEnv?: readonly string[];
}

/** Single-quotes a string for bash. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The tasks file: element i runs line i+1. */
export function renderTasksFile(tasks: readonly string[]): string {
  return tasks.map((t) => `${t}\n`).join('');
}

/** `0-(n-1)` plus `%K` when a throttle is given. */
export function arrayRange(taskCount: number, maxParallel?: number): string {
  return `0-${taskCount - 1}${maxParallel === undefined ? '' : `%${maxParallel}`}`;
}

function requireEnvLines(names: readonly string[] | undefined, who: string): string[] {
  return (names ?? []).map(
    (v) =>
      `if [ -z "\${${v}:-}" ]; then echo "unigrad-cluster: ${v} is not set in ${who}'s environment; export it before submitting (sbatch passes the submitting environment unless the site sets --export=NONE)" >&2; exit 2; fi`,
  );
}

function optional(flag: string, value: string | number | undefined): string[] {
  return value === undefined ? [] : [`#SBATCH --${flag}=${value}`];
}

/** The job-array script: element `$SLURM_ARRAY_TASK_ID` execs line `$SLURM_ARRAY_TASK_ID + 1` of the tasks file. */
export function renderArrayScript(o: ArrayScriptInput): string {
  const throttle = o.maxParallel === undefined ? 'no limit on how many run at once' : `at most ${o.maxParallel} at once`;
  return [
    '#!/bin/bash',
    `# ${o.name}: ${o.taskCount} element(s) from ${o.tasksFile}, ${throttle}. Rendered by @unigrad/cluster.`,
    '# Element i execs line i+1 of the tasks file, so the task becomes the batch process and receives SIGTERM',
    '# (from --signal before the time limit, or from a requeue/preemption) directly. A requeued element reruns',
    '# the same line and appends to the same log; resuming from its own checkpoint is the task\'s job.',
    `#SBATCH --job-name=${o.name}`,
    `#SBATCH --array=${arrayRange(o.taskCount, o.maxParallel)}`,
    o.requeue === false ? '#SBATCH --no-requeue' : '#SBATCH --requeue',
    `#SBATCH --signal=${o.signal ?? DEFAULT_SIGNAL}`,
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${o.logDir}/%A_%a.out`,
    ...optional('partition', o.partition),
    ...optional('gres', o.gres),
    ...optional('time', o.time),
    ...optional('cpus-per-task', o.cpusPerTask),
    ...optional('mem', o.mem),
    ...(o.sbatchOptions ?? []).map((s) => `#SBATCH ${s}`),
    'set -eu',
    ...requireEnvLines(o.requireEnv, 'the job'),
    `TASKS_FILE=${shellQuote(o.tasksFile)}`,
    'TASK="$(sed -n "$((${SLURM_ARRAY_TASK_ID:?not run as a job-array element} + 1))p" "$TASKS_FILE")"',
    'if [ -z "$TASK" ]; then echo "unigrad-cluster: no line $((SLURM_ARRAY_TASK_ID + 1)) in $TASKS_FILE (was the tasks file changed after submission?)" >&2; exit 2; fi',
    `cd ${shellQuote(o.cwd)}`,
    'echo "unigrad-cluster: element ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} start $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) restart ${SLURM_RESTART_COUNT:-0} pid $$"',
    'echo "unigrad-cluster: exec $TASK"',
    'exec /bin/bash -c "$TASK"',
    '',
  ].join('\n');
}

/** The dependent job: starts when every element of the array ended (`afterany`), runs `command` in `cwd`. */
export function renderAfterScript(o: AfterScriptInput): string {
  return [
    '#!/bin/bash',
    `# ${o.name}: runs once every element of array job ${o.arrayJobId} ended (completed, failed or cancelled).`,
    '# Rendered by @unigrad/cluster. UNIGRAD_ARRAY_JOB_ID names the array for the command.',
    `#SBATCH --job-name=${o.name}`,
    `#SBATCH --dependency=afterany:${o.arrayJobId}`,
    '#SBATCH --kill-on-invalid-dep=yes',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${o.logDir}/%x_%j.out`,
    ...optional('partition', o.partition),
    ...optional('time', o.time),
    ...(o.sbatchOptions ?? []).map((s) => `#SBATCH ${s}`),
    'set -eu',
    ...requireEnvLines(o.requireEnv, 'the after job'),
    `export UNIGRAD_ARRAY_JOB_ID=${shellQuote(o.arrayJobId)}`,
    `cd ${shellQuote(o.cwd)}`,
    'echo "unigrad-cluster: after job ${SLURM_JOB_ID} (array ${UNIGRAD_ARRAY_JOB_ID}) start $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"',
    `exec /bin/bash -c ${shellQuote(o.command)}`,
    '',
  ].join('\n');
}
