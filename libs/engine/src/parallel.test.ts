import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childArgs, describeFailure, planJobs, runCellsInParallel } from './parallel';
import { StopRequest } from './signals';

const runs = (cells: string[], seeds: number[]) => seeds.flatMap((seed) => cells.map((cell) => ({ cell, seed })));

describe('planJobs', () => {
  it('deals the (cell, seed) runs round-robin over the slots, one child task per seed and slot', () => {
    const plan = planJobs(runs(['a', 'b', 'c'], [42, 43]), 2);
    expect(plan).toEqual([
      [
        { seed: 42, cells: ['a', 'c'] },
        { seed: 43, cells: ['b'] },
      ],
      [
        { seed: 42, cells: ['b'] },
        { seed: 43, cells: ['a', 'c'] },
      ],
    ]);
    const all = plan.flat().flatMap((t) => t.cells.map((c) => `${c}@${t.seed}`)).sort();
    expect(all).toEqual(['a@42', 'a@43', 'b@42', 'b@43', 'c@42', 'c@43']);
  });

  it('plans only the runs given (not the grid of their cells and seeds); never more slots than runs; rejects a bad count', () => {
    expect(planJobs([{ cell: 'a', seed: 42 }, { cell: 'b', seed: 43 }], 2)).toEqual([[{ seed: 42, cells: ['a'] }], [{ seed: 43, cells: ['b'] }]]);
    expect(planJobs([{ cell: 'a', seed: 1 }], 4)).toEqual([[{ seed: 1, cells: ['a'] }]]);
    expect(() => planJobs([{ cell: 'a', seed: 1 }], 0)).toThrow(/jobs/);
  });

  it('passes the seed as --seed S --seeds 1 (a bare --seeds 42 is a count)', () => {
    expect(childArgs({ cells: ['simclr:grad-mm', 'byol:original'], seed: 42 }, ['--preset', 'quick'])).toEqual([
      '--rows', 'simclr:grad-mm,byol:original', '--seed', '42', '--seeds', '1', '--no-table', '--preset', 'quick',
    ]);
  });
});

// Real child processes (plain node scripts standing in for reproduce): what the runner does with their ends.
describe('runCellsInParallel', () => {
  const child = (body: string) => [process.execPath, '-e', body, '--'];
  const quiet = () => undefined;

  it('passes a stop request on to every running child once, starts no more, and reports the run interrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parallel-stop-'));
    // Each child marks that it started, then on SIGTERM marks that it stopped cleanly and exits 143.
    const body = `const fs = require('fs'); const id = process.argv.slice(1).join(' ').replace(/\\W+/g, '_');
      fs.writeFileSync(${JSON.stringify(dir)} + '/started-' + id, '');
      process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(dir)} + '/stopped-' + id, ''); process.exit(143); });
      setInterval(() => {}, 1000);`;
    const stop = new StopRequest('test');
    const running = runCellsInParallel({ command: child(body), runs: runs(['a', 'b'], [1, 2]), jobs: 2, stop, log: quiet });
    while (readdirSync(dir).filter((f) => f.startsWith('started-')).length < 2) await new Promise((r) => setTimeout(r, 50));
    stop.request('SIGTERM');
    const result = await running;
    expect(result.interrupted).toBe(true);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.startsWith('started-'))).toHaveLength(2); // the seed-2 tasks never started
    expect(files.filter((f) => f.startsWith('stopped-'))).toHaveLength(2);
    expect(result.failed.map((f) => f.code)).toEqual([143, 143]);
  }, 30_000);

  it('reports a child that could not start, one killed by a signal and one that failed, by what happened', async () => {
    const notStarted = await runCellsInParallel({ command: ['/nonexistent/reproduce'], runs: runs(['a'], [1]), jobs: 1, log: quiet });
    expect(describeFailure(notStarted.failed[0])).toMatch(/^a seed 1 \(not started: spawn \/nonexistent\/reproduce ENOENT\)$/);
    const killed = await runCellsInParallel({ command: child("process.kill(process.pid, 'SIGKILL')"), runs: runs(['b'], [2]), jobs: 1, log: quiet });
    expect(describeFailure(killed.failed[0])).toBe('b seed 2 (killed by SIGKILL)');
    const failed = await runCellsInParallel({ command: child('process.exit(3)'), runs: runs(['c', 'd'], [3]), jobs: 2, log: quiet });
    expect(failed.failed.map(describeFailure).sort()).toEqual(['c seed 3 (exit 3)', 'd seed 3 (exit 3)']);
    const ok = await runCellsInParallel({ command: child(''), runs: runs(['e'], [4]), jobs: 1, log: quiet });
    expect(ok).toMatchObject({ failed: [], interrupted: false, tasks: 1 });
    expect(existsSync('/nonexistent/reproduce')).toBe(false);
  }, 30_000);
});
