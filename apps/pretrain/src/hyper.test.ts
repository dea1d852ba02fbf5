import { resolveConfig } from '@unigrad/configs';
import { getMethod } from '@unigrad/losses';
import { describe, expect, it } from 'vitest';
import { branchesFor, methodHyper } from './train';

describe('methodHyper', () => {
  const at256 = (overrides: object) => resolveConfig({ model: { projectorOut: 256 }, loss: { scaleLambdaWithDim: true } }, overrides);

  it('scales the gradient-form λ of UniGrad / Barlow Twins / VICReg by D/2048', () => {
    expect(methodHyper(getMethod('unigrad'), at256({ method: 'unigrad' })).lambda).toBe(12.5);
    expect(methodHyper(getMethod('barlow_twins'), at256({ method: 'barlow_twins' })).lambda).toBe(6.25);
    expect(methodHyper(getMethod('unigrad'), resolveConfig({ method: 'unigrad', model: { projectorOut: 256 } })).lambda).toBe(100);
  });

  it('leaves original losses, other methods and an explicit λ alone', () => {
    expect(methodHyper(getMethod('barlow_twins'), at256({ method: 'barlow_twins', form: 'original' })).lambda).toBe(0.0051);
    expect(methodHyper(getMethod('simclr'), at256({ method: 'simclr' })).tau).toBe(0.2);
    expect(methodHyper(getMethod('unigrad'), at256({ method: 'unigrad', loss: { lambda: 30 } })).lambda).toBe(30);
  });

  it('gives original BYOL a predictor and a momentum encoder, SimSiam a predictor only, no_mm no target', () => {
    expect(branchesFor(getMethod('byol'), resolveConfig({ method: 'byol', form: 'original' }))).toEqual({ predictor: true, momentum: true });
    expect(branchesFor(getMethod('simsiam'), resolveConfig({ method: 'simsiam', form: 'original' }))).toEqual({ predictor: true, momentum: false });
    expect(branchesFor(getMethod('byol'), resolveConfig({ method: 'byol', target: 'no_mm' }))).toEqual({ predictor: false, momentum: false });
  });
});
