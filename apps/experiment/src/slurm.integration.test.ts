// `npm run reproduce -- --scheduler slurm` on the real one-node cluster of `npm run slurm:local` and a real MLflow
// server: two quick cells as one job array (at most 2 at once); element 0 is preempted with `scontrol requeue`
// mid-pretraining and must resume (not restart) from its own checkpoint; the dependent job writes a table with both
// cells. Bad input (no tracking URI, no sbatch, an unknown partition) is one error and submits nothing.
import { jobInfo, requeueJob, waitFor, waitForJobs } from '@unigrad/cluster';
import { mlflowVenvBin, startMlflowServer, type MlflowServer } from '@unigrad/tracking';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');
const tsNode = join(root, 'node_modules', 'ts-node', 'dist', 'bin.js');
// describe.skipIf needs the answer synchronously (no top-level await in CommonJS): ask sinfo directly.
const sinfo = spawnSync('sinfo', ['-h', '-o', '%P'], { encoding: 'utf8', timeout: 15_000 });
const clusterProblem = sinfo.error ? `sinfo could not run (${sinfo.error.message})` : sinfo.status !== 0 || !sinfo.stdout.trim() ? 'sinfo lists no partition' : '';
const skip = clusterProblem ? `no SLURM cluster answers (${clusterProblem}); start one with npm run slurm:local` : !mlflowVenvBin() ? 'no MLflow venv (npm run mlflow:setup)' : '';
if (skip) console.log(`SKIPPED reproduce --scheduler slurm integration tests: ${skip}`);

function reproduce(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [tsNode, '--transpile-only', 'apps/experiment/src/reproduce.ts', ...args], { cwd: root, env, encoding: 'utf8' });
}

describe.skipIf(Boolean(skip))('npm run reproduce -- --scheduler slurm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reproduce-slurm-'));
  let server: MlflowServer;
  let env: NodeJS.ProcessEnv;
  const cells = ['--rows', 'unigrad:grad-mm,simclr:grad-mm'];
  // Long enough pretraining (3 epochs = 48 steps) to preempt mid-run; a short probe.
  const config = ['--preset', 'quick', '--optim.epochs', '3', '--knn.every', 'none', '--probe.epochs', '2', '--probe.evalEvery', '1', '--output.dir', join(dir, 'runs')];

  beforeAll(async () => {
    server = await startMlflowServer({ dir: join(dir, 'mlflow') });
    env = { ...process.env, MLFLOW_TRACKING_URI: server.url, UNIGRAD_TRACKING_DIR: join(dir, 'store') };
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses bad input with one error and submits nothing', () => {
    const noUri = reproduce(['--scheduler', 'slurm', ...cells], { ...process.env, MLFLOW_TRACKING_URI: '' });
    expect(noUri.status).toBe(2);
    expect(noUri.stderr.trim()).toMatch(/^error: --scheduler slurm needs MLFLOW_TRACKING_URI/);
    const noSbatch = reproduce(['--scheduler', 'slurm', ...cells], { ...env, PATH: '/nonexistent' });
    expect(noSbatch.status).not.toBe(0);
    expect(noSbatch.stderr).toMatch(/sbatch/);
    const partition = reproduce(['--scheduler', 'slurm', '--partition', 'nosuchpartition', ...cells], env);
    expect(partition.status).not.toBe(0);
    expect(partition.stderr).toMatch(/nosuchpartition/);
    expect(existsSync(join(root, 'runs', 'slurm')) ? readdirSync(join(root, 'runs', 'slurm')).filter((d) => d.includes('nosuchpartition')) : []).toEqual([]);
  }, 120_000);

  it('runs two cells as an array, resumes a requeued element from its checkpoint, and the dependent job writes the table', async () => {
    const submitted = reproduce(['--scheduler', 'slurm', '--max-parallel', '2', ...cells, ...config, '--table-out', join(dir, 'table')], env);
    expect(submitted.status, submitted.stderr).toBe(0);
    const arrayId = /submitted job array (\d+)/.exec(submitted.stdout)![1];
    const tableId = /table job (\d+)/.exec(submitted.stdout)![1];

    // Preempt element 0 (the first cell in table order: simclr:grad-mm) once its pretraining has done some steps.
    const metrics = join(dir, 'runs', 'quick', 'simclr-grad-mm-seed42', 'metrics.csv');
    const rows = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').trim().split('\n').length - 1 : 0);
    await waitFor('element 0 to train a few steps', async () => (rows() >= 5 ? true : undefined), { timeoutMs: 240_000, pollMs: 200 });
    await requeueJob(`${arrayId}_0`);

    const done = await waitForJobs([arrayId, tableId], { timeoutMs: 600_000 });
    const element0 = done.find((j) => j.arrayTaskId === '0') ?? (await jobInfo(`${arrayId}_0`))[0];
    expect(element0?.restarts).toBeGreaterThanOrEqual(1);
    expect(done.every((j) => j.state === 'COMPLETED'), JSON.stringify(done.map((j) => [j.jobId, j.state]))).toBe(true);

    // Resumed, not restarted: the step history is 1..48 once, and the element's log says it resumed.
    const steps = readFileSync(metrics, 'utf8').trim().split('\n').slice(1).map((r) => Number(r.split(',')[0]));
    expect(steps).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    const logDir = /tail -f (\S+)\//.exec(submitted.stdout)?.[1];
    const logs = logDir ? readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('\n') : '';
    expect(logs).toMatch(/simclr:grad-mm seed 42: resuming from .*latest\.ckpt/);
    expect(logs).toMatch(/resumed at step \d+/);

    const table = readFileSync(join(dir, 'table', 'RESULTS.md'), 'utf8');
    expect(table).toMatch(/\| UniGrad \|.*\| \d+\.\d+/);
    expect(table).toMatch(/\| SimCLR \|.*\| \d+\.\d+/);
  }, 900_000);
});
