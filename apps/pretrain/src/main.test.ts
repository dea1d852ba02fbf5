// The thin main: --help exits 0 with its options, a misspelt flag or a bad value exits 2 before anything runs.
import { spawnSync } from 'node:child_process';
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
