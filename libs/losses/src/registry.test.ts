import { describe, expect, it } from 'vitest';
import { METHODS, branchesFor, defaultHyper, getMethod, hyperKeysFor, methodNames } from './registry';

describe('registry', () => {
  it('has every method under its own name with the spec defaults', () => {
    for (const name of methodNames()) expect(getMethod(name).name).toBe(name);
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

  it('derives the branches of each form: original BYOL predictor + EMA, SimSiam predictor only, no_mm no target', () => {
    expect(branchesFor(METHODS.byol, 'original', 'mm')).toEqual({ predictor: true, momentum: true });
    expect(branchesFor(METHODS.simsiam, 'original', 'mm')).toEqual({ predictor: true, momentum: false });
    expect(branchesFor(METHODS.byol, 'grad', 'no_mm')).toEqual({ predictor: false, momentum: false });
    expect(branchesFor(METHODS.simclr, 'grad', 'mm')).toEqual({ predictor: false, momentum: true });
  });

  it('scales the gradient-form λ of UniGrad / Barlow Twins / VICReg by D/2048 and sets N to the batch', () => {
    const at256 = { dim: 256, batchSize: 128, scaleWithDim: true };
    expect(defaultHyper(METHODS.unigrad, 'grad', at256)).toEqual({ lambda: 12.5, rho: 0.99 });
    expect(defaultHyper(METHODS.barlow_twins, 'grad', at256)).toEqual({ lambda: 6.25, wholeBatchSize: 128 });
    expect(defaultHyper(METHODS.vicreg, 'grad', at256).lambda).toBe(6.25);
    expect(defaultHyper(METHODS.unigrad, 'grad', { ...at256, scaleWithDim: false }).lambda).toBe(100);
    expect(defaultHyper(METHODS.barlow_twins, 'original', at256)).toEqual({ lambda: 0.0051 });
    expect(defaultHyper(METHODS.simclr, 'grad', at256)).toEqual({ tau: 0.2 });
  });

  it('lists the hyper-parameters each form uses', () => {
    expect(hyperKeysFor(METHODS.unigrad, 'grad').sort()).toEqual(['lambda', 'rho']);
    expect(hyperKeysFor(METHODS.barlow_twins, 'grad').sort()).toEqual(['lambda', 'wholeBatchSize']);
    expect(hyperKeysFor(METHODS.vicreg, 'original').sort()).toEqual(['covCoeff', 'simCoeff', 'stdCoeff']);
    expect(hyperKeysFor(METHODS.moco, 'original').sort()).toEqual(['queueSize', 'tau']);
  });

  it('contributes every table row with its cells (UniGrad has no original, and adds UniGrad + CutMix)', () => {
    const cells = Object.values(METHODS).flatMap((m) => m.rows.flatMap((r) => r.cells.map((c) => `${r.row}:${c.variant}`)));
    expect(cells).toHaveLength(21);
    expect(cells).toContain('unigrad_cutmix:grad-mm');
    expect(cells).not.toContain('unigrad:original');
  });
});
