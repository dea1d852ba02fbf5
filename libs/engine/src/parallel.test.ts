import { describe, expect, it } from 'vitest';
import { childArgs, planJobs } from './parallel';

describe('planJobs', () => {
  it('deals (cell, seed) pairs round-robin over the slots, one child task per seed and slot', () => {
    const plan = planJobs(['a', 'b', 'c'], [42, 43], 2);
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

  it('never makes more slots than cell runs; rejects a bad count', () => {
    expect(planJobs(['a'], [1], 4)).toEqual([[{ seed: 1, cells: ['a'] }]]);
    expect(() => planJobs(['a'], [1], 0)).toThrow(/jobs/);
  });

  it('passes the seed as --seed S --seeds 1 (a bare --seeds 42 is a count)', () => {
    expect(childArgs({ cells: ['simclr:grad-mm', 'byol:original'], seed: 42 }, ['--preset', 'quick'])).toEqual([
      '--rows', 'simclr:grad-mm,byol:original', '--seed', '42', '--seeds', '1', '--no-table', '--preset', 'quick',
    ]);
  });
});
