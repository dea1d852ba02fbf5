import { describe, expect, it } from 'vitest';
import { METHODS, getMethod } from './registry';
import { METHOD_NAMES } from './types';

describe('registry', () => {
  it('has every method under its own name with the spec defaults', () => {
    for (const name of METHOD_NAMES) expect(getMethod(name).name).toBe(name);
    expect(METHODS.unigrad.defaults).toMatchObject({ lambda: 100, rho: 0.99 });
    expect(METHODS.unigrad.hasOriginal).toBe(false);
    expect(METHODS.byol.defaults).toMatchObject({ rho: 0.99, eps: 0.3 });
    expect(METHODS.simclr.defaults).toMatchObject({ tau: 0.2 });
    expect(METHODS.moco.defaults).toMatchObject({ tau: 0.2 });
    expect(METHODS.barlow_twins.defaults).toMatchObject({ lambda: 50 });
    expect(METHODS.barlow_twins.originalDefaults).toMatchObject({ lambda: 0.0051 });
    expect(METHODS.vicreg.originalDefaults).toMatchObject({ simCoeff: 25, stdCoeff: 25, covCoeff: 1 });
  });

  it('says what the original forms need from the engine', () => {
    expect(METHODS.moco.originalNeeds).toEqual({ predictor: false, target: 'ema' });
    expect(METHODS.byol.originalNeeds).toEqual({ predictor: true, target: 'ema' });
    expect(METHODS.simsiam.originalNeeds).toEqual({ predictor: true, target: 'stopgrad' });
    for (const name of ['simclr', 'vicreg', 'barlow_twins'] as const) expect(METHODS[name].originalNeeds).toEqual({ predictor: false, target: 'none' });
  });

  it('rejects an unknown name and lists the valid ones', () => {
    expect(() => getMethod('barlow')).toThrow('unknown method "barlow"; valid methods: moco, simclr, simsiam, byol, vicreg, barlow_twins, unigrad');
  });
});
