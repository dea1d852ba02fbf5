// submitArray: validate everything first (spec, sbatch on PATH, required environment, partition, `sbatch
// --test-only`), only then write the submission directory and submit the array and its dependent job.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClusterError } from './errors';
import {
  ARRAY_JOB_ID_PLACEHOLDER,
  DEFAULT_SIGNAL,
  renderAfterScript,
  renderArrayScript,
  renderTasksFile,
  type AfterScriptInput,
  type ArrayScriptInput,
  type SbatchResources,
} from './render';
import { cancelJobs, findOnPath, firstLine, listPartitions, partitionExists, run, type Env } from './slurm';

export interface AfterSpec {
  /** Shell command run once every element ended (`afterany`), e.g. `npm run table`. */
  command: string;
  /** Job name; default `<name>-after`. */
  name?: string;
  /** Its wall-time limit; default: the partition's default. */
  time?: string;
}

export interface ArraySpec extends SbatchResources {
  /** Job name, also the prefix of the submission directory: letters, digits, `.`, `_`, `-`. */
  name: string;
  /** One shell command line per array element (element i runs tasks[i]); one simple command each, so it is exec'd. */
  tasks: readonly string[];
  /** Working directory of every element and of the after job (on the shared filesystem). */
  cwd: string;
  /** Parent directory of the submission directory `<scriptDir>/<name>-<UTC stamp>-<rand>/` (shared filesystem). */
  scriptDir: string;
  /** Environment for the checks and for sbatch (which passes it on to the jobs); default process.env. */
  env?: Env;
  /** A dependent job that runs after every element ended. */
  after?: AfterSpec;
  /** Validate (spec and required environment only: no cluster needed) and render; write and submit nothing. */
  dryRun?: boolean;
}

export interface RenderedFile {
  path: string;
  content: string;
}

export interface Submission {
  dryRun: boolean;
  /** The array's job id (undefined for a dry run). */
  arrayJobId?: string;
  /** The dependent job's id (undefined without `after` or for a dry run). */
  afterJobId?: string;
  /** Submission directory: tasks file, scripts, `submission.json`, `logs/`. */
  dir: string;
  logDir: string;
  scripts: { tasks: RenderedFile; array: RenderedFile; after?: RenderedFile };
  /** Shell commands that show how the jobs are doing. */
  follow: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PARTITION = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const GRES = /^[A-Za-z0-9_.:,=/-]+$/;
const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;
const SIGNAL = /^((R|B|RB|BR):)?(SIG)?[A-Z0-9]+(@\d{1,5})?$/;
const MEM = /^\d+[KMGT]?$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SBATCH_OPTION = /^--[a-z][a-z-]*(=\S+)?$/;
const OWNED_OPTIONS = ['--array', '--job-name', '--output', '--error', '--open-mode', '--dependency', '--requeue', '--no-requeue', '--signal'];
const DIRECTIVE_PATH = /^[^\s%'"\\]+$/;

function invalid(message: string): never {
  throw new ClusterError('INVALID_SPEC', message);
}

/** Checks an ArraySpec without touching the cluster or the filesystem; throws INVALID_SPEC. */
export function validateSpec(spec: ArraySpec): void {
  if (!NAME.test(spec.name ?? '')) invalid(`job name '${spec.name}' is not usable: use 1-64 letters, digits, '.', '_' or '-' (e.g. unigrad-fmnist)`);
  if (!Array.isArray(spec.tasks) || spec.tasks.length === 0) invalid('no tasks: pass at least one command line in tasks');
  spec.tasks.forEach((t, i) => {
    if (typeof t !== 'string' || t.trim() === '') invalid(`task ${i} is empty: every task must be a command line`);
    if (/[\n\r\0]/.test(t)) invalid(`task ${i} contains a line break: the tasks file holds one command per line; join it into one line`);
  });
  if (!spec.cwd) invalid('cwd is missing: pass the directory the tasks run in (on the shared filesystem)');
  if (!spec.scriptDir) invalid('scriptDir is missing: pass a directory on the shared filesystem for scripts and logs');
  const dir = resolve(spec.scriptDir);
  if (!DIRECTIVE_PATH.test(dir)) invalid(`scriptDir '${dir}' contains whitespace, a quote, a backslash or '%', which #SBATCH --output cannot hold: choose a plain path`);
  if (spec.maxParallel !== undefined && !(Number.isInteger(spec.maxParallel) && spec.maxParallel >= 1)) invalid(`maxParallel ${spec.maxParallel} is not a positive integer: pass e.g. 2`);
  if (spec.partition !== undefined && !PARTITION.test(spec.partition)) invalid(`partition '${spec.partition}' is not a partition name: pass e.g. gpu (see sinfo)`);
  if (spec.gres !== undefined && !GRES.test(spec.gres)) invalid(`gres '${spec.gres}' is malformed: pass e.g. gpu:1`);
  for (const [what, t] of [['time', spec.time], ['after.time', spec.after?.time]] as const) {
    if (t !== undefined && !TIME.test(t)) invalid(`${what} '${t}' is not a SLURM time: use HH:MM:SS, D-HH:MM:SS or minutes (e.g. 04:00:00)`);
  }
  if (spec.signal !== undefined && !SIGNAL.test(spec.signal)) invalid(`signal '${spec.signal}' is malformed: use [B:]SIG[@seconds], e.g. ${DEFAULT_SIGNAL}`);
  if (spec.cpusPerTask !== undefined && !(Number.isInteger(spec.cpusPerTask) && spec.cpusPerTask >= 1)) invalid(`cpusPerTask ${spec.cpusPerTask} is not a positive integer`);
  if (spec.mem !== undefined && !MEM.test(spec.mem)) invalid(`mem '${spec.mem}' is malformed: use e.g. 8G or 16000M`);
  for (const o of spec.sbatchOptions ?? []) {
    if (!SBATCH_OPTION.test(o)) invalid(`sbatch option '${o}' is not one --name[=value] token without spaces`);
    const flag = o.split('=')[0];
    if (OWNED_OPTIONS.includes(flag)) invalid(`sbatch option '${o}' is set by @unigrad/cluster itself; use the matching ArraySpec field instead`);
  }
  for (const v of spec.requireEnv ?? []) if (!ENV_NAME.test(v)) invalid(`requireEnv entry '${v}' is not an environment variable name`);
  if (spec.after) {
    if (!spec.after.command || spec.after.command.trim() === '') invalid('after.command is empty: pass the command to run after the array (e.g. npm run table)');
    if (spec.after.name !== undefined && !NAME.test(spec.after.name)) invalid(`after.name '${spec.after.name}' is not usable: use letters, digits, '.', '_' or '-'`);
  }
}

/** The required environment values that are unset or empty. */
export function missingEnv(names: readonly string[] | undefined, env: Env): string[] {
  return (names ?? []).filter((v) => !env[v]);
}

function checkEnv(spec: ArraySpec, env: Env): void {
  const missing = missingEnv(spec.requireEnv, env);
  if (missing.length === 0) return;
  const hint = missing.includes('MLFLOW_TRACKING_URI')
    ? ' (all elements track to one MLflow server: export MLFLOW_TRACKING_URI=http://<host>:5000, reachable from every node)'
    : '';
  throw new ClusterError('MISSING_ENV', `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set but required for this submission${hint}; export ${missing.length === 1 ? 'it' : 'them'} and submit again`);
}

async function checkPartition(partition: string, env: Env): Promise<void> {
  const known = await listPartitions(env);
  for (const p of partition.split(',')) {
    if (known.some((k) => k.name === p) || (await partitionExists(p, env))) continue;
    const list = known.map((k) => `${k.name}${k.isDefault ? '*' : ''}`).join(', ') || 'none';
    throw new ClusterError('UNKNOWN_PARTITION', `unknown partition '${p}' (this cluster has: ${list}); pass one of those with --partition, or omit it for the default (*)`);
  }
}

async function testOnly(sbatch: string, script: string, what: string, env: Env): Promise<void> {
  const r = await run(sbatch, ['--test-only'], { env, input: script, timeoutMs: 30_000 });
  if (r.code !== 0) {
    const why = firstLine(r).replace(/^sbatch: error: /, '');
    throw new ClusterError('REJECTED', `sbatch --test-only rejected the ${what} script: ${why}; fix that option (see sinfo, scontrol show partition) and submit again`);
  }
}

async function submitScript(sbatch: string, path: string, env: Env): Promise<string> {
  const r = await run(sbatch, ['--parsable', path], { env, timeoutMs: 60_000 });
  const id = r.stdout.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id)) throw new ClusterError('SBATCH_FAILED', `sbatch ${path} failed: ${firstLine(r)}`);
  return id;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

/** Shell commands to follow a submission. */
export function followCommands(s: Pick<Submission, 'arrayJobId' | 'afterJobId' | 'logDir'>, env: Env = process.env): string[] {
  const ids = [s.arrayJobId ?? ARRAY_JOB_ID_PLACEHOLDER, ...(s.afterJobId ? [s.afterJobId] : [])].join(',');
  const lines = [
    `squeue -r -j ${ids}`,
    `scontrol show job ${s.arrayJobId ?? ARRAY_JOB_ID_PLACEHOLDER}`,
    `tail -f ${s.logDir}/${s.arrayJobId ?? ARRAY_JOB_ID_PLACEHOLDER}_*.out`,
    `sacct -j ${ids}   # if the site runs accounting`,
    `scancel ${ids}   # to stop everything`,
  ];
  if (env.MLFLOW_TRACKING_URI) lines.push(`MLflow: ${env.MLFLOW_TRACKING_URI}`);
  return lines;
}

/**
 * Submits `spec.tasks` as one job array plus, with `spec.after`, a dependent job (`afterany`).
 *
 * Order: validateSpec → required environment → [not for dryRun:] sbatch on PATH → partition (sinfo/scontrol) →
 * `sbatch --test-only` for both scripts → write `<scriptDir>/<name>-<stamp>-<rand>/` → `sbatch --parsable` the
 * array → render and submit the after job with the array's id. Every check runs before anything is written or
 * submitted and throws a ClusterError with a one-line message. If the after job cannot be submitted the array is
 * cancelled again, so a failure never leaves half a submission queued.
 */
export async function submitArray(spec: ArraySpec): Promise<Submission> {
  validateSpec(spec);
  const env = spec.env ?? process.env;
  checkEnv(spec, env);

  const cwd = resolve(spec.cwd);
  const dir = join(resolve(spec.scriptDir), `${spec.name}-${stamp(new Date())}-${randomBytes(2).toString('hex')}`);
  const logDir = join(dir, 'logs');
  const tasksPath = join(dir, 'tasks.txt');
  const arrayPath = join(dir, 'array.sbatch');
  const afterPath = join(dir, 'after.sbatch');
  const arrayInput: ArrayScriptInput = {
    name: spec.name,
    taskCount: spec.tasks.length,
    tasksFile: tasksPath,
    cwd,
    logDir,
    maxParallel: spec.maxParallel,
    partition: spec.partition,
    gres: spec.gres,
    time: spec.time,
    signal: spec.signal,
    requeue: spec.requeue,
    cpusPerTask: spec.cpusPerTask,
    mem: spec.mem,
    sbatchOptions: spec.sbatchOptions,
    requireEnv: spec.requireEnv,
  };
  const afterInput = (arrayJobId: string): AfterScriptInput | undefined =>
    spec.after && {
      name: spec.after.name ?? `${spec.name}-after`,
      arrayJobId,
      command: spec.after.command,
      cwd,
      logDir,
      partition: spec.partition,
      time: spec.after.time,
      sbatchOptions: spec.sbatchOptions,
      requireEnv: spec.requireEnv,
    };
  const tasks: RenderedFile = { path: tasksPath, content: renderTasksFile(spec.tasks) };
  const array: RenderedFile = { path: arrayPath, content: renderArrayScript(arrayInput) };
  const placeholder = afterInput(ARRAY_JOB_ID_PLACEHOLDER);
  const draftAfter = placeholder && { path: afterPath, content: renderAfterScript(placeholder) };

  if (spec.dryRun) {
    return { dryRun: true, dir, logDir, scripts: { tasks, array, after: draftAfter }, follow: followCommands({ logDir }, env) };
  }

  const sbatch = findOnPath('sbatch', env);
  if (!sbatch) {
    throw new ClusterError('NO_SBATCH', 'sbatch not found on PATH: run this on a SLURM login node (or install the client: apt-get install slurm-client), or start a local test cluster with npm run slurm:local; use dryRun to only render the scripts');
  }
  if (spec.partition) await checkPartition(spec.partition, env);
  await testOnly(sbatch, array.content, 'array', env);
  if (placeholder) {
    // --test-only cannot check a dependency on a job that does not exist yet: test the rest of the after script.
    await testOnly(sbatch, renderAfterScript(placeholder).replace(/^#SBATCH --dependency=.*\n/m, ''), 'after', env);
  }

  if (existsSync(dir)) throw new ClusterError('SBATCH_FAILED', `submission directory ${dir} already exists; submit again`);
  mkdirSync(logDir, { recursive: true });
  writeFileSync(tasks.path, tasks.content);
  writeFileSync(array.path, array.content, { mode: 0o755 });
  const arrayJobId = await submitScript(sbatch, array.path, env);

  let after: RenderedFile | undefined;
  let afterJobId: string | undefined;
  const input = afterInput(arrayJobId);
  if (input) {
    after = { path: afterPath, content: renderAfterScript(input) };
    try {
      writeFileSync(after.path, after.content, { mode: 0o755 });
      afterJobId = await submitScript(sbatch, after.path, env);
    } catch (e) {
      await cancelJobs([arrayJobId], env).catch(() => undefined);
      throw new ClusterError('SBATCH_FAILED', `${(e as Error).message}; cancelled array job ${arrayJobId} again so nothing half-submitted is left queued`);
    }
  }

  const submission: Submission = { dryRun: false, arrayJobId, afterJobId, dir, logDir, scripts: { tasks, array, after }, follow: [] };
  submission.follow = followCommands(submission, env);
  writeFileSync(
    join(dir, 'submission.json'),
    `${JSON.stringify({ name: spec.name, arrayJobId, afterJobId, submittedAt: new Date().toISOString(), cwd, tasks: spec.tasks, after: spec.after?.command }, null, 2)}\n`,
  );
  return submission;
}
