// CI smoke test of `npm run reproduce -- --preset quick`: two cells end to end (pretrain → probe → tracking →
// table) in a temporary store, then a second invocation that finds both complete and skips them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectSeeds } from '@unigrad/engine';

const root = join(__dirname, '..', '..', '..');

const REPRODUCE = ['ts-node', '--transpile-only', 'apps/experiment/src/reproduce.ts'];

function reproduce(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync('npx', [...REPRODUCE, ...args], {
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

describe('npm run reproduce -- --dry-run', () => {
  it("tracks into the throwaway runs/dry-run store and checkpoints under runs/dry-run, never skipping or resuming", () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-dry-'));
    const started = Date.now() - 1000;
    const cellConfig = join(root, 'runs', 'dry-run', 'fmnist-wide', 'simclr-grad-mm-seed42', 'config.json');
    for (const attempt of [1, 2]) {
      const out = reproduce(['--preset', 'fmnist-wide', '--rows', 'simclr:grad-mm', '--dry-run'], { UNIGRAD_TRACKING_DIR: join(dir, 'store') });
      expect(out, `attempt ${attempt}`).toMatch(/0 already complete, 1 to run/);
      expect(out).toMatch(/simclr:grad-mm seed 42: probe top-1/);
    }
    expect(existsSync(join(dir, 'store'))).toBe(false); // the project's store (here UNIGRAD_TRACKING_DIR) is untouched
    expect(statSync(cellConfig).mtimeMs).toBeGreaterThan(started);
    expect(statSync(join(root, 'runs', 'dry-run', 'tables', 'RESULTS.md')).mtimeMs).toBeGreaterThan(started);
  });
});

describe('npm run reproduce -- --jobs 2', () => {
  it('runs the cells in two processes at once, sharing one store, and regenerates the table once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-jobs-'));
    const env = { UNIGRAD_TRACKING_DIR: join(dir, 'store') };
    // One L2 strength: the probe skips its selection fits (the parallel plumbing is under test, not the probe).
    const args = ['--preset', 'quick', '--rows', 'simclr:grad-mm,baseline-random:baseline', '--optim.maxSteps', '3', '--probe.l2Grid', '0.01', '--output.dir', join(dir, 'runs'), '--table-out', dir, '--jobs', '2'];
    const first = reproduce(args, env);
    expect(first).toMatch(/2 to run in 2 processes/);
    expect(first).toMatch(/\[jobs\] slot 1: /);
    expect(first).toMatch(/\[jobs\] slot 2: /);
    expect(first).toMatch(/2 cell run\(s\) in \d+ s \(\d+\.\d cells\/hour, 2 at once\)/);
    const table = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(table).toMatch(/\| SimCLR \|.*\| \d+\.\d+/);
    expect(table).toMatch(/Baseline: random encoder \|.*\| \d+\.\d+/);
    expect(reproduce(args, env)).toMatch(/2 already complete, 0 to run/);
  });

  it('Ctrl-C (SIGINT to the whole terminal process group): each child gets it once, checkpoints its cell mid-run, and the parent exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-jobs-int-'));
    const runs = join(dir, 'runs');
    const args = ['--preset', 'quick', '--rows', 'unigrad:grad-mm,simclr:grad-mm', '--optim.epochs', '40', '--knn.every', 'none', '--output.dir', runs, '--no-table', '--jobs', '2'];
    // detached: the parent leads a process group of its own, as a shell's foreground job does.
    const parent = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), ...REPRODUCE.slice(1), ...args], { cwd: root, env: { ...process.env, UNIGRAD_TRACKING_DIR: join(dir, 'store') }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    parent.stdout.on('data', (d) => (out += d));
    parent.stderr.on('data', (d) => (out += d));
    // Both children are in their training loops once each has printed its run's header line (then a moment more).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if ((out.match(/\[pretrain\] (unigrad|simclr) form=/g) ?? []).length === 2) {
          clearInterval(timer);
          setTimeout(resolve, 3000);
        }
        if (parent.exitCode !== null) reject(new Error(`reproduce ended before both cells trained:\n${out}`));
      }, 250);
    });
    process.kill(-parent.pid!, 'SIGINT'); // the whole group, as a terminal's Ctrl-C
    const code = await new Promise<number | null>((resolve) => parent.on('close', resolve));
    expect(code, out).toBe(130);
    expect(out).toMatch(/\[jobs\] SIGINT: passing it on to 2 running child\(ren\)/);
    // One "finishing" line each for the parent and both children: no child saw a second signal (which quits at once).
    expect(out.match(/\[reproduce\] SIGINT: finishing the current step/g) ?? []).toHaveLength(3);
    expect(out.match(/interrupted: finished cells are kept/g) ?? []).toHaveLength(2);
    const cellDirs = readdirSync(join(runs, 'quick')).sort();
    expect(cellDirs).toEqual(['simclr-grad-mm-seed42', 'unigrad-grad-mm-seed42']);
    for (const cell of cellDirs) {
      expect(existsSync(join(runs, 'quick', cell, 'latest.ckpt')), cell).toBe(true);
      const steps = readFileSync(join(runs, 'quick', cell, 'metrics.csv'), 'utf8').trim().split('\n').length - 1;
      expect(steps, cell).toBeGreaterThan(0);
      expect(steps, cell).toBeLessThan(640); // stopped mid-run, not at the end
    }
  }, 300_000);
});
