import { describe, expect, it } from 'vitest';
import { Rng } from './rng';

describe('Rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('resumes exactly from a saved state', () => {
    const a = new Rng(7);
    for (let i = 0; i < 10; i++) a.next();
    const resumed = new Rng(a.getState());
    expect(Array.from({ length: 10 }, () => resumed.next())).toEqual(Array.from({ length: 10 }, () => a.next()));
  });

  it('draws uniforms with the right mean and normals with unit variance', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) sum += rng.next();
    for (let i = 0; i < n; i++) sumSq += rng.normal() ** 2;
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
  });

  it('permutation is a permutation', () => {
    const perm = Array.from(new Rng(3).permutation(100));
    expect([...perm].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rejects invalid seeds and states', () => {
    expect(() => new Rng(1.5)).toThrow(/integer/);
    expect(() => new Rng([0, 0, 0, 0])).toThrow(/all zeros/);
  });
});
