// Against the real local SLURM cluster (`npm run slurm:local`; CI starts it). Skips, saying why, when sinfo does not
// answer. A 2-element array of resumable shell tasks (at most 2 at once) plus an afterany job; element 0 is
// requeued mid-run with `scontrol requeue` and must resume from its saved step, not restart.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError } from './errors';
import { cancelJobs, clusterStatus, jobInfo, requeueJob, run, waitFor, waitForJobs, type JobInfo } from './slurm';
import { submitArray, type Submission } from './submit';

// describe.skipIf needs the answer synchronously (no top-level await in CommonJS): ask sinfo directly.
const probe = spawnSync('sinfo', ['-h', '-o', '%P'], { encoding: 'utf8', timeout: 15_000 });
const skipReason = probe.error
  ? `sinfo could not run (${probe.error.message})`
  : probe.status !== 0
    ? `sinfo failed: ${(probe.stderr || probe.stdout).trim().split('\n')[0]}`
    : probe.stdout.trim() === ''
      ? 'sinfo lists no partition'
      : undefined;
if (skipReason) console.warn(`SKIPPED libs/cluster integration tests: no SLURM cluster answers (${skipReason}). Start one with \`npm run slurm:local\` (as root; CI does).`);

const STEPS = 12;
const WAIT = { timeoutMs: 120_000, pollMs: 500 };

// Counts STEPS one-second steps into OUT/NAME.state (written atomically after every step, and again on SIGTERM).
// On start it continues from the saved step, so a requeued run resumes. The TERM trap only sets a flag: the step in
// progress is abandoned (not counted), so no step is ever logged twice or skipped.
const TASK = `#!/bin/bash
name=$1; steps=$2; out=$3
state="$out/$name.state"
n=0; [ -f "$state" ] && n=$(cat "$state")
save() { echo "$n" > "$state.tmp" && mv "$state.tmp" "$state"; }
echo "task $name pid $$ starts at step $n"
echo "start $n" >> "$out/$name.starts"
term=0; trap 'term=1' TERM
while [ "$n" -lt "$steps" ]; do
  sleep 1 & wait $!
  if [ "$term" = 1 ]; then kill $! 2>/dev/null; save; echo "task $name: SIGTERM at step $n, state saved"; exit 143; fi
  n=$((n + 1)); echo "$n" >> "$out/$name.steps"; save
done
echo "$name done $n steps" > "$out/$name.result"
echo "task $name finished at step $n"
`;

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : []);
const time = (j: JobInfo | undefined, key: 'StartTime' | 'EndTime') => Date.parse(j?.fields[key] ?? '');

describe.skipIf(skipReason !== undefined)('real local SLURM cluster', () => {
  let work: string;
  const submitted: string[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cluster-it-'));
    writeFileSync(join(work, 'task.sh'), TASK);
    chmodSync(join(work, 'task.sh'), 0o755);
  });

  afterAll(async () => {
    await cancelJobs(submitted).catch((e) => console.warn(`cleanup: ${(e as Error).message}`));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('an unknown partition is one clear error; nothing is written or queued', async () => {
    const name = `it-nopart-${process.pid}`;
    const scriptDir = join(work, 'nopart');
    const err = await submitArray({ name, tasks: ['true'], cwd: work, scriptDir, partition: 'no-such-partition' }).then(
      () => undefined,
      (e: unknown) => e as ClusterError,
    );
    expect(err?.code).toBe('UNKNOWN_PARTITION');
    const status = await clusterStatus();
    expect(status.ok).toBe(true);
    expect(err?.message).toMatch(new RegExp(`^unknown partition 'no-such-partition' \\(this cluster has: ${status.partitions.map((p) => p.name).join('.*')}.*\\); pass one of those`));
    expect(existsSync(scriptDir)).toBe(false);
    const q = await run('squeue', ['-h', '-n', name, '-o', '%i']);
    expect(q.stdout.trim()).toBe('');
  });

  it('array of 2 (max 2 at once) + afterany job: a requeued element resumes from its state, the after job sees both', async () => {
    const out = join(work, 'out');
    rmSync(out, { recursive: true, force: true });
    const task = (name: string) => `${join(work, 'task.sh')} ${name} ${STEPS} ${out}`;
    const t0 = Date.now();
    const sub: Submission = await submitArray({
      name: `it-array-${process.pid}`,
      tasks: [`mkdir -p ${out} && exec ${task('e0')}`, `mkdir -p ${out} && exec ${task('e1')}`],
      cwd: work,
      scriptDir: join(work, 'sub'),
      maxParallel: 2,
      time: '00:10:00',
      after: { command: `cat ${out}/e0.result ${out}/e1.result > ${out}/table.txt` },
    });
    submitted.push(sub.arrayJobId!, sub.afterJobId!);
    const A = sub.arrayJobId!;
    const el = (jobs: JobInfo[], i: number) => jobs.find((j) => j.arrayJobId === A && j.arrayTaskId === String(i));

    // Both elements run at once; element 0 is preempted while it sleeps, after its 3rd step.
    await waitFor('both elements running', async () => {
      const jobs = await jobInfo(A);
      return [0, 1].every((i) => el(jobs, i)?.state === 'RUNNING') ? true : undefined;
    }, WAIT);
    await waitFor('element 0 to count 3 steps', async () => (lines(join(out, 'e0.steps')).length >= 3 ? true : undefined), WAIT);
    await requeueJob(`${A}_0`);
    const requeuedAt = Date.now();
    console.log(`requeued ${A}_0 after ${((requeuedAt - t0) / 1000).toFixed(1)} s at step ${lines(join(out, 'e0.steps')).length}`);

    const jobs = await waitForJobs([A], WAIT);
    const afterJobs = await waitForJobs([sub.afterJobId!], WAIT);
    console.log(`array and after job done ${((Date.now() - t0) / 1000).toFixed(1)} s after submission`);

    // Element 0 ran twice and resumed where it stopped; every step counted exactly once.
    const starts = lines(join(out, 'e0.starts'));
    expect(starts).toHaveLength(2);
    expect(starts[0]).toBe('start 0');
    const resumedAt = Number(starts[1].split(' ')[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(3);
    expect(resumedAt).toBeLessThan(STEPS);
    expect(lines(join(out, 'e0.steps'))).toEqual(Array.from({ length: STEPS }, (_, i) => String(i + 1)));
    expect(lines(join(out, 'e1.starts'))).toEqual(['start 0']);
    expect(lines(join(out, 'e1.steps'))).toHaveLength(STEPS);

    // SLURM's view: both completed, element 0 restarted once, the throttle is 2.
    expect(el(jobs, 0)).toMatchObject({ state: 'COMPLETED', restarts: 1, exitCode: '0:0' });
    expect(el(jobs, 1)).toMatchObject({ state: 'COMPLETED', restarts: 0 });
    expect(el(jobs, 0)?.fields.ArrayTaskThrottle).toBe('2');

    // One log per element, appended across the requeue; the task is the batch process itself (exec: same pid).
    const log0 = readFileSync(join(sub.logDir, `${A}_0.out`), 'utf8');
    const heads = [...log0.matchAll(/element \d+_0 start .* restart (\d+) pid (\d+)/g)];
    expect(heads.map((m) => m[1])).toEqual(['0', '1']);
    for (const [, , pid] of heads) expect(log0).toContain(`task e0 pid ${pid} starts`);
    expect(log0).toMatch(/task e0: SIGTERM at step \d+, state saved/);
    expect(log0).toContain(`task e0 pid ${heads[1][2]} starts at step ${resumedAt}`);
    expect(readFileSync(join(sub.logDir, `${A}_1.out`), 'utf8')).toContain(`task e1 finished at step ${STEPS}`);

    // The dependent job started after both elements ended and wrote both outputs.
    const after = afterJobs[0];
    expect(after).toMatchObject({ state: 'COMPLETED', exitCode: '0:0' });
    expect(time(after, 'StartTime')).toBeGreaterThanOrEqual(Math.max(time(el(jobs, 0), 'EndTime'), time(el(jobs, 1), 'EndTime')));
    expect(readFileSync(join(out, 'table.txt'), 'utf8')).toBe(`e0 done ${STEPS} steps\ne1 done ${STEPS} steps\n`);
  }, 300_000);
});
