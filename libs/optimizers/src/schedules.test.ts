import { describe, expect, it } from 'vitest';
import { cosinePerEpochLr, momentumSchedule, scaleLr, warmupCosineLr } from './schedules';

// The official recipe (spec §7.2): base 0.05, batch 1024, S = 125100, warmup 6255.
const S = 125100;
const WU = 6255;

describe('warmupCosineLr', () => {
  const lr = warmupCosineLr({ baseLr: 0.05, batchSize: 1024, warmupSteps: WU, totalSteps: S });

  it('matches the spec sample values', () => {
    expect(lr(0)).toBeCloseTo(0.0002, 12);
    expect(lr(WU)).toBeCloseTo(0.2, 12);
    expect(lr(62550)).toBeCloseTo(0.11573, 5);
    expect(lr(125099)).toBeCloseTo(0.0014303, 7);
  });

  it('warms up linearly from lr_min and divides the cosine by the total S', () => {
    expect(lr(Math.floor(WU / 2))).toBeCloseTo(0.0002 + (0.1998 * 3127) / WU, 12);
    // At s = S the cosine argument is π(S − Wu)/S = 0.95π, not π: the floor lr_min is never reached.
    const end = 0.0002 + 0.5 * 0.1998 * (1 + Math.cos(0.95 * Math.PI));
    expect(lr(S)).toBeCloseTo(end, 12);
    expect(lr(S) / 0.2).toBeCloseTo(0.00715, 5);
  });

  it('rejects bad arguments with a clear message', () => {
    expect(() => lr(-1)).toThrow(/integer >= 0/);
    expect(() => warmupCosineLr({ baseLr: 0.05, batchSize: 1024, warmupSteps: 10, totalSteps: 5 })).toThrow(/warmupSteps/);
  });
});

describe('momentumSchedule', () => {
  const m = momentumSchedule({ base: 0.996, totalSteps: S });
  it('matches the spec sample values', () => {
    expect(m(0)).toBeCloseTo(0.996, 14);
    expect(m(WU)).toBeCloseTo(0.9960246, 7);
    expect(m(62550)).toBeCloseTo(0.998, 14);
    expect(1 - m(125099)).toBeCloseTo(6.3e-13, 14);
    expect(1 - m(125099)).toBeGreaterThan(0);
    expect(m(S)).toBe(1);
  });
});

describe('cosinePerEpochLr', () => {
  it('is lr·½(1 + cos(πe/E)) with lr = base·batch/256 (paper probe: 1.6 at batch 4096)', () => {
    const lr = cosinePerEpochLr({ baseLr: 0.1, batchSize: 4096, epochs: 90 });
    expect(scaleLr(0.1, 4096)).toBeCloseTo(1.6, 12);
    expect(lr(0)).toBeCloseTo(1.6, 12);
    expect(lr(45)).toBeCloseTo(0.8, 12);
    expect(lr(89)).toBeCloseTo(1.6 * 0.5 * (1 + Math.cos((Math.PI * 89) / 90)), 12);
  });
});
