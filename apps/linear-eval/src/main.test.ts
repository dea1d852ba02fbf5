// The thin main: --help exits 0 with its options, a misspelt flag or a bad value exits 2 before anything runs.
import { saveCheckpoint } from '@unigrad/models';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');
const run = (args: string[]) =>
  spawnSync('npx', ['ts-node', '--transpile-only', 'apps/linear-eval/src/main.ts', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, UNIGRAD_TRACKING_DIR: '/nonexistent-must-not-be-created' } });

describe('npm run linear-eval', () => {
  it('--help prints the options and the config keys and exits 0', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run linear-eval/);
    expect(result.stdout).toContain('--optim.batchSize <integer>');
    expect(result.stdout).toMatch(/exit codes: 0 success/);
  });

  it('names the closest flag for a typo and exits 2', () => {
    const result = run(['--optim.batchsize', '3']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("error: unknown option '--optim.batchsize' (did you mean --optim.batchSize?); see --help");
  });

  it('a checkpoint with one flipped byte is an error (exit 1), never a silent load', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'flip-')), 'latest.ckpt');
    saveCheckpoint(path, { tensors: { 'encoder.w': { shape: [4], dtype: 'float32', data: new Float32Array([1, 2, 3, 4]) } }, meta: { kind: 'unigrad-pretrain' } });
    const bytes = readFileSync(path);
    bytes[bytes.length - 2] ^= 0x10;
    writeFileSync(path, bytes);
    const result = run(['--checkpoint', path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/checksum mismatch.*corrupt/);
  });

  it('requires --checkpoint and accepts only probe.* and data.* keys', () => {
    const missing = run([]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/missing --checkpoint/);
    const result = run(['--checkpoint', 'x.ckpt', '--optim.epochs', '3']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/probe\.\* and data\.\* overrides only; got --optim.epochs/);
  });
});
