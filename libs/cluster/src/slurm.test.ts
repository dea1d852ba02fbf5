// Parsing `scontrol show job -o` and the wait helpers, without a cluster.
import { describe, expect, it } from 'vitest';
import { ClusterError } from './errors';
import { allEnded, describeJob, parseScontrolJobs, waitFor } from './slurm';

// Two records as slurm 22.05 prints them (shortened): a requeued array element, and the array's pending remainder.
const OUTPUT = [
  'JobId=5 ArrayJobId=3 ArrayTaskId=0 ArrayTaskThrottle=2 JobName=it-array UserId=root(0) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 ExitCode=0:0 StartTime=2026-12-03T08:55:31 EndTime=2026-12-03T08:55:40 TRES=cpu=1,node=1,billing=1 ReqB:S:C:T=0:0:*:* Socks/Node=* Command=/shared/my dir/array.sbatch WorkDir=/shared StdOut=/shared/logs/3_0.out Power= ',
  'JobId=3 ArrayJobId=3 ArrayTaskId=1-3%2 JobName=it-array JobState=PENDING Reason=JobArrayTaskLimit Restarts=0 ExitCode=0:0',
  '',
].join('\n');

describe('scontrol show job -o', () => {
  it('reads each record into typed fields and keeps the raw ones', () => {
    const [a, b] = parseScontrolJobs(OUTPUT);
    expect(a).toMatchObject({ jobId: '5', arrayJobId: '3', arrayTaskId: '0', name: 'it-array', state: 'COMPLETED', restarts: 1, exitCode: '0:0', stdOut: '/shared/logs/3_0.out' });
    expect(a.fields).toMatchObject({ ArrayTaskThrottle: '2', TRES: 'cpu=1,node=1,billing=1', 'ReqB:S:C:T': '0:0:*:*', 'Socks/Node': '*', Command: '/shared/my dir/array.sbatch', Power: '' });
    expect(b).toMatchObject({ jobId: '3', arrayTaskId: '1-3%2', state: 'PENDING', reason: 'JobArrayTaskLimit' });
    expect(describeJob(a)).toBe('3_0');
    expect(allEnded([a])).toBe(true);
    expect(allEnded([a, b])).toBe(false);
    expect(parseScontrolJobs('slurm_load_jobs error: Invalid job id specified\n')).toEqual([]);
  });
});

describe('waitFor', () => {
  it('returns the first defined value and gives up with TIMEOUT after the bound', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', async () => (++n >= 3 ? n : undefined), { pollMs: 1 })).toBe(3);
    const err = await waitFor('never', async () => undefined, { timeoutMs: 30, pollMs: 5 }).catch((e: unknown) => e as ClusterError);
    expect(err).toBeInstanceOf(ClusterError);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/^gave up waiting for never after 30 ms/) });
  });
});
