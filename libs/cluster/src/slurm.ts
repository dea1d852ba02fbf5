// Thin wrappers over the SLURM client commands (sbatch, sinfo, scontrol, squeue, scancel): finding them on PATH,
// listing partitions, reading job state, bounded waits. Every call takes the environment it runs in, so tests can
// hand in a PATH without sbatch or with fakes.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ClusterError } from './errors';

export type Env = NodeJS.ProcessEnv;

export interface RunOptions {
  env?: Env;
  /** Text written to the command's stdin. */
  input?: string;
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The absolute path of `command` on `env.PATH`, or undefined. */
export function findOnPath(command: string, env: Env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command to completion; never throws for a non-zero exit (see `code`), only when it cannot be started. */
export function run(command: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const env = o.env ?? process.env;
  const file = command.includes('/') ? command : findOnPath(command, env);
  if (!file) {
    return Promise.reject(new ClusterError('COMMAND_FAILED', `${command} not found on PATH; install the SLURM client commands or start a local cluster with npm run slurm:local`));
  }
  return new Promise((resolve, reject) => {
    const child = execFile(file, [...args], { env, timeout: o.timeoutMs ?? 30_000, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new ClusterError('COMMAND_FAILED', `${command} could not run: ${err.message.split('\n')[0]}`));
        return;
      }
      const killed = err && (err as { killed?: boolean }).killed;
      if (killed) {
        reject(new ClusterError('TIMEOUT', `${command} ${args.join(' ')} did not answer in ${o.timeoutMs ?? 30_000} ms; is slurmctld up? (sinfo; npm run slurm:local)`));
        return;
      }
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code: Number.isFinite(code) ? code : 1, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined); // a command that exits without reading stdin (EPIPE) is judged by its exit code
    if (o.input !== undefined) child.stdin?.end(o.input);
    else child.stdin?.end();
  });
}

/** First non-empty line of a command's stderr (or stdout), for one-line error messages. */
export function firstLine(r: RunResult): string {
  const line = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  return line ?? `exit code ${r.code}`;
}

export interface Partition {
  name: string;
  /** Marked `*` by sinfo: where jobs without `--partition` go. */
  isDefault: boolean;
}

/** Partitions as `sinfo -h -o %P` lists them. Throws CLUSTER_UNREACHABLE when sinfo cannot reach the controller. */
export async function listPartitions(env: Env = process.env, timeoutMs = 15_000): Promise<Partition[]> {
  const r = await run('sinfo', ['-h', '-o', '%P'], { env, timeoutMs });
  if (r.code !== 0) throw new ClusterError('CLUSTER_UNREACHABLE', `sinfo failed (${firstLine(r)}); check that slurmctld is up (sinfo), or start a local cluster with npm run slurm:local`);
  const seen = new Map<string, Partition>();
  for (const raw of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const name = raw.replace(/\*$/, '');
    seen.set(name, { name, isDefault: raw.endsWith('*') || (seen.get(name)?.isDefault ?? false) });
  }
  return [...seen.values()];
}

/** Whether `scontrol show partition <name>` knows it (also finds partitions hidden from sinfo). */
export async function partitionExists(name: string, env: Env = process.env): Promise<boolean> {
  const r = await run('scontrol', ['show', 'partition', '-o', name], { env, timeoutMs: 15_000 });
  return r.code === 0 && r.stdout.includes(`PartitionName=${name}`);
}

export interface ClusterStatus {
  ok: boolean;
  /** Why the cluster cannot be used (when !ok), one line. */
  reason?: string;
  partitions: Partition[];
}

/** Does a SLURM controller answer? For tests (skip with `reason`) and for tools that want to say why not. */
export async function clusterStatus(env: Env = process.env, timeoutMs = 10_000): Promise<ClusterStatus> {
  if (!findOnPath('sinfo', env)) return { ok: false, reason: 'no sinfo on PATH (start a local cluster with npm run slurm:local)', partitions: [] };
  try {
    const partitions = await listPartitions(env, timeoutMs);
    if (partitions.length === 0) return { ok: false, reason: 'sinfo answered but lists no partition', partitions };
    return { ok: true, partitions };
  } catch (e) {
    return { ok: false, reason: (e as Error).message, partitions: [] };
  }
}

/** One job (or array element) as `scontrol show job -o` reports it. */
export interface JobInfo {
  /** `JobId`: for an array element its own id, not the array's. */
  jobId: string;
  name: string;
  /** Array job id and element index (`ArrayTaskId`, a single index, or e.g. `0-3%2` for elements not yet started). */
  arrayJobId?: string;
  arrayTaskId?: string;
  /** PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state: string;
  reason: string;
  /** `exit:signal`, e.g. `0:0`. */
  exitCode: string;
  /** How often the job was requeued. */
  restarts: number;
  stdOut?: string;
  /** Every key=value of the record. */
  fields: Record<string, string>;
}

export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT',
]);

/** Parses `scontrol show job -o` output (one record per line, `Key=Value` separated by spaces). */
export function parseScontrolJobs(text: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('JobId='))) {
    const fields: Record<string, string> = {};
    // Values never contain " Key=" but may contain spaces (Command, WorkDir): split on the next " Key=".
    const re = /(\w[\w:/.]*)=(.*?)(?= \w[\w:/.]*=|$)/g;
    for (let m = re.exec(line); m; m = re.exec(line)) fields[m[1]] = m[2];
    jobs.push({
      jobId: fields.JobId,
      name: fields.JobName ?? '',
      arrayJobId: fields.ArrayJobId,
      arrayTaskId: fields.ArrayTaskId,
      state: (fields.JobState ?? 'UNKNOWN').split(/\s/)[0],
      reason: fields.Reason ?? '',
      exitCode: fields.ExitCode ?? '',
      restarts: Number(fields.Restarts ?? 0),
      stdOut: fields.StdOut,
      fields,
    });
  }
  return jobs;
}

/**
 * The records SLURM still holds for a job or array (every element, including the not-yet-split pending
 * remainder). Finished jobs are forgotten after MinJobAge (default 300 s; the local cluster keeps 600 s):
 * an unknown id gives [].
 */
export async function jobInfo(jobId: string, env: Env = process.env): Promise<JobInfo[]> {
  const r = await run('scontrol', ['show', 'job', '-o', jobId], { env, timeoutMs: 15_000 });
  if (r.code !== 0) {
    if (/Invalid job id/i.test(`${r.stderr}${r.stdout}`)) return [];
    throw new ClusterError('COMMAND_FAILED', `scontrol show job ${jobId} failed: ${firstLine(r)}`);
  }
  return parseScontrolJobs(r.stdout);
}

/** Every record is in a terminal state (an empty list counts as done: SLURM has forgotten the job). */
export function allEnded(jobs: readonly JobInfo[]): boolean {
  return jobs.every((j) => TERMINAL_STATES.has(j.state));
}

export interface WaitOptions {
  env?: Env;
  /** Give up after this long (default 120 s) with a TIMEOUT error that lists the states seen last. */
  timeoutMs?: number;
  /** Poll interval (default 1 s). */
  pollMs?: number;
}

/** Polls `check` until it returns a value other than undefined; bounded. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, o: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = ` (last error: ${(e as Error).message})`;
    }
    if (Date.now() > deadline) throw new ClusterError('TIMEOUT', `gave up waiting for ${what} after ${o.timeoutMs ?? 120_000} ms${last}`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** Waits until every given job (arrays: every element) ended; returns their last records. */
export async function waitForJobs(jobIds: readonly string[], o: WaitOptions = {}): Promise<JobInfo[]> {
  let seen: JobInfo[] = [];
  try {
    return await waitFor(
      `jobs ${jobIds.join(', ')} to end`,
      async () => {
        seen = (await Promise.all(jobIds.map((id) => jobInfo(id, o.env)))).flat();
        return allEnded(seen) ? seen : undefined;
      },
      o,
    );
  } catch (e) {
    const states = seen.map((j) => `${describeJob(j)}=${j.state}`).join(' ');
    throw new ClusterError('TIMEOUT', `${(e as Error).message}; last states: ${states || 'none'}`);
  }
}

/** `123_4` for an array element, else the job id. */
export function describeJob(j: JobInfo): string {
  return j.arrayJobId && j.arrayTaskId !== undefined ? `${j.arrayJobId}_${j.arrayTaskId}` : j.jobId;
}

/** `scontrol requeue <id>` (e.g. `123_1`): the job is killed (SIGTERM, then SIGKILL after KillWait) and queued again. */
export async function requeueJob(jobId: string, env: Env = process.env): Promise<void> {
  const r = await run('scontrol', ['requeue', jobId], { env });
  if (r.code !== 0) throw new ClusterError('COMMAND_FAILED', `scontrol requeue ${jobId} failed: ${firstLine(r)}`);
}

/** `scancel` the given jobs; ids SLURM no longer knows are ignored. */
export async function cancelJobs(jobIds: readonly string[], env: Env = process.env): Promise<void> {
  if (jobIds.length === 0) return;
  const r = await run('scancel', [...jobIds], { env });
  if (r.code !== 0 && !/Invalid job id|already completing or completed/i.test(`${r.stderr}${r.stdout}`)) {
    throw new ClusterError('COMMAND_FAILED', `scancel ${jobIds.join(' ')} failed: ${firstLine(r)}`);
  }
}
