// CI smoke test of `npm run reproduce -- --preset quick`: two cells end to end (pretrain → probe → tracking →
// table) in a temporary store, then a second invocation that finds both complete and skips them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectSeeds } from '@unigrad/engine';

const root = join(__dirname, '..', '..', '..');

function reproduce(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync('npx', ['ts-node', '--transpile-only', 'apps/experiment/src/reproduce.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('selectSeeds', () => {
  it('reads a count or a list of seeds', () => {
    expect(selectSeeds(undefined, 42)).toEqual([42]);
    expect(selectSeeds('2', 42)).toEqual([42, 43]);
    expect(selectSeeds('7,9', 42)).toEqual([7, 9]);
    expect(() => selectSeeds('a,b', 42)).toThrow(/comma list/);
  });
});

describe('npm run reproduce -- --preset quick', () => {
  it('runs cells end to end, writes the table, and skips completed cells on the next run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-'));
    const env = { UNIGRAD_TRACKING_DIR: join(dir, 'store') };
    const args = ['--preset', 'quick', '--rows', 'unigrad:grad-mm,baseline-random:baseline', '--optim.maxSteps', '3', '--output.dir', join(dir, 'runs'), '--table-out', dir];
    const first = reproduce(args, env);
    expect(first).toMatch(/2 cell runs .* 0 already complete, 2 to run/);
    expect(first).toMatch(/unigrad:grad-mm seed 42: probe top-1 \d+\.\d+%/);
    const table = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(table).toMatch(/\| UniGrad \|.*\| \d+\.\d+/);
    expect(table).toMatch(/Baseline: random encoder \|.*\| \d+\.\d+/);
    expect(table).toMatch(/\| MoCo \|.*not run/);
    expect(existsSync(join(dir, 'results.csv'))).toBe(true);
    expect(existsSync(join(dir, 'runs', 'quick', 'unigrad-grad-mm-seed42', 'latest.ckpt'))).toBe(true);

    const second = reproduce(args, env);
    expect(second).toMatch(/2 already complete, 0 to run/);
  });
});
