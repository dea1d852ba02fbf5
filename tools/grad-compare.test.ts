// The grad-compare CLI: --help, usage errors (one line, exit 2), and walking a run folder's per-epoch checkpoints
// end to end (records, SVGs, Markdown, tracked artifacts) on a tiny synthetic run.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '@unigrad/core';
import { resolveConfig } from '@unigrad/configs';
import { pretrain, runDir, type GradCompareRecord } from '@unigrad/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCheckpoints } from './grad-compare';

const ROOT = resolve(__dirname, '..');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', '--silent', 'grad-compare', '--', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

describe('grad-compare CLI', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: npm run grad-compare --');
    expect(r.stdout).toContain('--checkpoint <ckpt>');
    expect(r.stdout).toContain('--run <dir>');
  });

  it('a missing checkpoint is a one-line error with exit 2 (so is giving neither flag); an unreadable one exits 1', async () => {
    const junk = join(mkdtempSync(join(tmpdir(), 'gc-junk-')), 'latest.ckpt');
    writeFileSync(junk, 'not a checkpoint');
    const [missing, neither, unreadable] = await Promise.all([cli(['--checkpoint', '/nonexistent/latest.ckpt']), cli([]), cli(['--checkpoint', junk], { MLFLOW_TRACKING_URI: '' })]);
    expect(unreadable.code).toBe(1);
    // (tfjs-node may print its CPU-feature notice on stderr; the error itself is one line.)
    expect(unreadable.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([`error: checkpoint ${junk}: bad magic "not a ch" (expected "UGCKPT01"): not a UniGrad checkpoint`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('error: --checkpoint /nonexistent/latest.ckpt: no such file');
    expect(missing.stdout).toBe('');
    expect(neither.code).toBe(2);
    expect(neither.stderr.trim().split('\n')).toHaveLength(1);
    expect(neither.stderr).toMatch(/exactly one of --checkpoint/);
  });

  it('orders epoch-<k>.ckpt numerically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-order-'));
    for (const k of [10, 2, 1]) writeFileSync(join(dir, `epoch-${k}.ckpt`), '');
    writeFileSync(join(dir, 'epoch-x.ckpt'), '');
    expect(runCheckpoints(dir).map((p) => p.slice(dir.length + 1))).toEqual(['epoch-1.ckpt', 'epoch-2.ckpt', 'epoch-10.ckpt']);
    expect(() => runCheckpoints(join(dir, 'nope'))).toThrow(/no such directory/);
  });

  it('--run walks the per-epoch checkpoints: a JSON record each, heatmaps, the line chart and grad-compare.md, logged as artifacts', async () => {
    // A tiny 2-epoch run whose per-epoch checkpoints are copies of latest.ckpt taken after each epoch's save
    // (what `output.keepEpochCheckpoints` in train.ts would write).
    const config = resolveConfig({
      method: 'unigrad',
      data: { dataset: 'synthetic', imageSize: 16 },
      model: { trunk: 'convnet', widths: [4, 8], projectorHidden: 16, projectorOut: 16 },
      optim: { batchSize: 8, epochs: 2, warmupEpochs: 0 },
      output: { dir: mkdtempSync(join(tmpdir(), 'gc-run-')) },
    });
    const dir = runDir(config);
    const result = await pretrain(config, { log: false, onEpochEnd: (epoch) => copyFileSync(join(dir, 'latest.ckpt'), join(dir, `epoch-${epoch + 1}.ckpt`)) });
    const out = mkdtempSync(join(tmpdir(), 'gc-out-'));
    const store = mkdtempSync(join(tmpdir(), 'gc-store-'));
    const r = await cli(['--run', result.outDir, '--batches', '2', '--json', '--out', out], { UNIGRAD_TRACKING_DIR: store, MLFLOW_TRACKING_URI: '' });
    expect(r.code, r.stderr).toBe(0);
    const records = JSON.parse(r.stdout) as GradCompareRecord[];
    // latest.ckpt is the same step as epoch-2.ckpt, so it is not measured twice.
    expect(records.map((x) => x.checkpoint.epoch)).toEqual([1, 2]);
    for (const x of records) {
      for (const ctx of x.contexts) for (const row of ctx.cosine.full) for (const v of row) if (v !== null) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
    const files = ['grad-compare-epoch-1.json', 'grad-compare-epoch-1.svg', 'grad-compare-epoch-2.json', 'grad-compare-epoch-2.svg', 'grad-compare-epochs.svg', 'grad-compare.md'];
    for (const f of files) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'grad-compare.md'), 'utf8')).toMatch(/Over training/);
    const [runId] = readdirSync(join(store, 'artifacts'));
    expect(readdirSync(join(store, 'artifacts', runId, 'grad-compare')).sort()).toEqual([...files].sort());
  });
});
