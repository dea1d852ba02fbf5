import { describe, expect, it } from 'vitest';
import { pairedDifference, summarize, tCritical } from './stats';

// Reference values computed by hand (python3, math module only) from closed forms of the t quantile at p = 0.975:
//   df = 1: tan(π (p − ½))                                  = 12.706204736174696
//   df = 2: (2p − 1) / √(2p(1 − p))                         = 4.302652729749462
//   df = 4: α = 4p(1 − p), q = cos(acos(√α) / 3) / √α, 2√(q − 1) = 2.7764451051977934
// and half-width = t · s / √n with s the sample std (n − 1 in the denominator).
const T1 = 12.706204736174696;
const T2 = 4.302652729749462;
const T4 = 2.7764451051977934;

describe('tCritical', () => {
  it('matches the closed forms of the 97.5% t quantile', () => {
    expect(tCritical(1)).toBeCloseTo(T1, 6);
    expect(tCritical(2)).toBeCloseTo(T2, 6);
    expect(tCritical(4)).toBeCloseTo(T4, 6);
    expect(tCritical(1000)).toBeCloseTo(1.96, 2); // → the normal quantile 1.959964
  });

  it('rejects nonsense', () => {
    expect(() => tCritical(0)).toThrow(/degrees of freedom/);
    expect(() => tCritical(2.5)).toThrow(/degrees of freedom/);
    expect(() => tCritical(3, 1)).toThrow(/confidence level/);
  });
});

describe('summarize', () => {
  it('gives mean, sample std and the t-interval', () => {
    // [80, 82, 84]: mean 82, s = 2, half-width = 4.302652729749462 · 2 / √3 = 4.9682754235006605
    const s = summarize([80, 82, 84]);
    expect(s).toMatchObject({ n: 3, mean: 82, level: 0.95 });
    expect(s.std).toBeCloseTo(2, 12);
    expect(s.halfWidth).toBeCloseTo(4.9682754235006605, 6);
    expect(s.ci![0]).toBeCloseTo(82 - 4.9682754235006605, 6);
    expect(s.ci![1]).toBeCloseTo(82 + 4.9682754235006605, 6);
  });

  it('two seeds: df 1, a wide interval', () => {
    // [76.5, 77.5]: mean 77, s = √½ = 0.7071067811865476, half-width = 12.706204736174696 · s / √2 = 6.353102368087349
    const s = summarize([76.5, 77.5]);
    expect(s.mean).toBe(77);
    expect(s.std).toBeCloseTo(0.7071067811865476, 12);
    expect(s.halfWidth).toBeCloseTo(6.353102368087349, 6);
  });

  it('five values: df 4', () => {
    // [1, 2, 3, 4, 10]: mean 4, s = √12.5 = 3.5355339059327378, half-width = 2.7764451051977934 · s / √5 = 4.389945165425414
    const s = summarize([1, 2, 3, 4, 10]);
    expect(s.mean).toBe(4);
    expect(s.std).toBeCloseTo(3.5355339059327378, 12);
    expect(s.halfWidth).toBeCloseTo(4.389945165425414, 6);
  });

  it('one seed has no std and no interval', () => {
    expect(summarize([78.5])).toEqual({ n: 1, mean: 78.5, level: 0.95 });
  });

  it('rejects an empty or non-finite sample', () => {
    expect(() => summarize([])).toThrow(/empty/);
    expect(() => summarize([1, NaN])).toThrow(/non-finite/);
  });
});

describe('pairedDifference', () => {
  it('uses only the seeds both cells have', () => {
    // Shared seeds 1, 2, 3: differences 1, 1.5, 0.5 -> mean 1, s = 0.5, half-width = 4.302652729749462 · 0.5 / √3 = 1.2420688558751651
    const a = { '1': 80, '2': 82, '3': 84, '4': 90 };
    const b = new Map([['3', 83.5], ['1', 79], ['2', 80.5], ['5', 70]]);
    const d = pairedDifference(a, b);
    expect(d.n).toBe(3);
    expect(d.seeds).toEqual(['1', '2', '3']);
    expect(d.diffs).toEqual([1, 1.5, 0.5]);
    expect(d.mean).toBeCloseTo(1, 12);
    expect(d.std).toBeCloseTo(0.5, 12);
    expect(d.halfWidth).toBeCloseTo(1.2420688558751651, 6);
    expect(d.ci![0]).toBeCloseTo(1 - 1.2420688558751651, 6);
  });

  it('is much tighter than the unpaired intervals when seeds share their variation', () => {
    // Seed effects of ±5 points, a constant +1 gap: the pairs see only the gap.
    const a = { '1': 75, '2': 81, '3': 85 };
    const b = { '1': 74, '2': 80, '3': 84 };
    const d = pairedDifference(a, b);
    expect(d.mean).toBeCloseTo(1, 12);
    expect(d.halfWidth).toBeCloseTo(0, 12);
    expect(summarize(Object.values(a)).halfWidth).toBeGreaterThan(10);
  });

  it('orders seeds numerically and handles no or one shared seed', () => {
    expect(pairedDifference({ '10': 1, '9': 2, '42': 3 }, { '42': 0, '9': 0, '10': 0 }).seeds).toEqual(['9', '10', '42']);
    expect(pairedDifference({ '1': 1 }, { '2': 1 })).toEqual({ n: 0, seeds: [], diffs: [], level: 0.95 });
    const one = pairedDifference({ '1': 3 }, { '1': 1 });
    expect(one).toMatchObject({ n: 1, mean: 2 });
    expect(one.ci).toBeUndefined();
  });
});
