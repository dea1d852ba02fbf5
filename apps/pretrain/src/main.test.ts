// The thin main: --help exits 0 with its options, a misspelt flag or a bad value exits 2 before anything runs.
import { loadCheckpoint } from '@unigrad/models';
import { listRuns } from '@unigrad/tracking';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');
const run = (args: string[]) =>
  spawnSync('npx', ['ts-node', '--transpile-only', 'apps/pretrain/src/main.ts', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, UNIGRAD_TRACKING_DIR: '/nonexistent-must-not-be-created' } });

describe('npm run pretrain', () => {
  it('--help prints the options and the config keys and exits 0', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run pretrain/);
    expect(result.stdout).toContain('--optim.batchSize <integer>');
    expect(result.stdout).toMatch(/exit codes: 0 success/);
  });

  it('names the closest flag for a typo and exits 2', () => {
    const result = run(['--optim.batchsize', '3']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("error: unknown option '--optim.batchsize' (did you mean --optim.batchSize?); see --help");
  });

  it('rejects a bad value before loading data or creating a run', () => {
    const result = run(['--optim.batchSize', '0']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/optim.batchSize.*>0/);
    expect(result.stdout).not.toMatch(/backend=/);
  });
});

// Signals sent to a real child process mid-epoch (cpu backend, tiny synthetic run: 8 steps/epoch, 16 steps).
describe('npm run pretrain under SIGINT / SIGTERM', () => {
  const tiny = [
    '--preset', 'quick', '--experiment', 'unigrad:grad-mm', '--data.dataset', 'synthetic', '--data.imageSize', '16', '--data.subset', 'none',
    '--model.widths', '4,8', '--model.projectorHidden', '16', '--model.projectorOut', '16', '--optim.batchSize', '8', '--optim.epochs', '2',
    '--knn.every', 'none', '--output.logEvery', '1',
  ];
  const env = (dir: string) => ({ ...process.env, UNIGRAD_BACKEND: 'cpu', UNIGRAD_TRACKING_DIR: join(dir, 'store'), MLFLOW_TRACKING_URI: '' });
  const rowsOf = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').length - 1 : 0);

  async function interrupted(signal: NodeJS.Signals, dir: string, afterRows = 3): Promise<{ code: number | null; runDir: string }> {
    // node itself runs ts-node (npx would be the process that receives the signal).
    const child = spawn(process.execPath, [join(root, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--transpile-only', 'apps/pretrain/src/main.ts', ...tiny, '--output.dir', join(dir, 'runs')], { cwd: root, env: env(dir), stdio: 'ignore' });
    const runDir = join(dir, 'runs', 'quick', 'unigrad-grad-mm-seed42');
    const deadline = Date.now() + 120_000;
    // Mid-epoch: after step `afterRows`.
    while (rowsOf(join(runDir, 'metrics.csv')) < afterRows && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill(signal);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, runDir };
  }

  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: finishes the step, checkpoints, marks the run KILLED, exits ${exitCode}; --resume completes bit-exactly`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `pretrain-${signal}-`));
      const { code, runDir } = await interrupted(signal, dir);
      expect(code).toBe(exitCode);
      const meta = loadCheckpoint(join(runDir, 'latest.ckpt')).meta as { step: number };
      expect(meta.step).toBeGreaterThanOrEqual(3);
      expect(meta.step).toBeLessThan(16);
      expect(rowsOf(join(runDir, 'metrics.csv'))).toBe(meta.step);
      const runs = await listRuns({ source: 'embedded', storeDir: join(dir, 'store') });
      expect(runs.map((r) => r.status)).toEqual(['KILLED']);

      const resumed = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/pretrain/src/main.ts', '--resume', join(runDir, 'latest.ckpt')], { cwd: root, env: env(dir), encoding: 'utf8' });
      expect(resumed.status, resumed.stderr).toBe(0);
      const straightDir = mkdtempSync(join(tmpdir(), 'pretrain-straight-'));
      const straight = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/pretrain/src/main.ts', ...tiny, '--output.dir', join(straightDir, 'runs')], { cwd: root, env: env(straightDir), encoding: 'utf8' });
      expect(straight.status, straight.stderr).toBe(0);
      const a = loadCheckpoint(join(runDir, 'latest.ckpt')).tensors;
      const b = loadCheckpoint(join(straightDir, 'runs', 'quick', 'unigrad-grad-mm-seed42', 'latest.ckpt')).tensors;
      expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
      for (const key of Object.keys(a)) expect(Array.from(a[key].data), key).toEqual(Array.from(b[key].data));
      expect(rowsOf(join(runDir, 'metrics.csv'))).toBe(16);
      // The resume continued the same tracked run: one run, now FINISHED, its step history without duplicates.
      const after = await listRuns({ source: 'embedded', storeDir: join(dir, 'store'), withHistory: true });
      expect(after.map((r) => r.status)).toEqual(['FINISHED']);
      const lossSteps = after[0].metricHistory!['train/loss'].map((m) => m.step);
      expect(lossSteps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    });
  }

  it('SIGKILL after the first epoch, then --resume: one tracked run, no duplicate or missing steps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pretrain-SIGKILL-'));
    const { code, runDir } = await interrupted('SIGKILL', dir, 11);
    expect(code).toBeNull(); // killed, no handler ran
    expect((loadCheckpoint(join(runDir, 'latest.ckpt')).meta as { step: number }).step).toBe(8); // the epoch-1 checkpoint
    const resumed = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/pretrain/src/main.ts', '--resume', join(runDir, 'latest.ckpt')], { cwd: root, env: env(dir), encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    const steps = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((r) => Number(r.split(',')[0]));
    expect(steps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const runs = await listRuns({ source: 'embedded', storeDir: join(dir, 'store'), withHistory: true });
    expect(runs.map((r) => r.status)).toEqual(['FINISHED']);
    const lossSteps = runs[0].metricHistory!['train/loss'].map((m) => m.step);
    expect(new Set(lossSteps).size).toBe(lossSteps.length);
    expect(lossSteps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a data error after the run was created ends it FAILED, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pretrain-data-error-'));
    const result = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/pretrain/src/main.ts', '--preset', 'quick', '--data.dataset', 'cifar10', '--output.dir', join(dir, 'runs')], { cwd: root, env: env(dir), encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/data.dir must point at the CIFAR-10 binary batches/);
    const runs = await listRuns({ source: 'embedded', storeDir: join(dir, 'store') });
    expect(runs.map((r) => r.status)).toEqual(['FAILED']);
  });

  it('--resume refuses config overrides (they would silently not apply)', () => {
    const result = run(['--resume', 'x.ckpt', '--optim.epochs', '3']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--resume continues the checkpoint's own config exactly; it does not take --optim.epochs/);
  });
});
