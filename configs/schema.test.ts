import { describe, expect, it } from 'vitest';
import { PRESETS } from './presets';
import { ConfigError, DEFAULT_CONFIG, flattenConfig, parseOverrides, resolveConfig } from './schema';

describe('resolveConfig', () => {
  it('applies overrides in order over the defaults', () => {
    const config = resolveConfig(PRESETS.quick, { method: 'simclr', optim: { epochs: 2 } });
    expect(config.method).toBe('simclr');
    expect(config.optim.epochs).toBe(2);
    expect(config.optim.batchSize).toBe(128); // from quick
    expect(config.optim.momentum).toBe(DEFAULT_CONFIG.optim.momentum); // from defaults
  });

  it('rejects an unknown key with its path and the known keys', () => {
    expect(() => resolveConfig({ optim: { epoch: 2 } })).toThrow(/unknown config key 'optim.epoch'.*epochs/);
  });

  it('rejects a wrong type and a value outside an enum', () => {
    expect(() => resolveConfig({ optim: { epochs: '2' } })).toThrow(/'optim.epochs' must be a number/);
    expect(() => resolveConfig({ method: 'mocov3' })).toThrow(/must be one of moco, simclr/);
  });

  it('rejects out-of-range values and impossible combinations', () => {
    expect(() => resolveConfig({ optim: { batchSize: 0 } })).toThrow(ConfigError);
    expect(() => resolveConfig({ method: 'unigrad', form: 'original' })).toThrow(/no 'original' loss/);
    expect(() => resolveConfig({ method: 'byol', cutmix: true })).toThrow(/cutmix/);
  });

  it('every preset resolves', () => {
    for (const preset of Object.values(PRESETS)) expect(() => resolveConfig(preset)).not.toThrow();
  });
});

describe('parseOverrides', () => {
  it('types values by the defaults', () => {
    expect(parseOverrides(['--optim.epochs', '3', '--cutmix=true', '--model.widths', '8,16', '--method', 'byol'])).toEqual({
      optim: { epochs: 3 },
      cutmix: true,
      model: { widths: [8, 16] },
      method: 'byol',
    });
  });

  it('names the problem', () => {
    expect(() => parseOverrides(['--optim.epochs', 'five'])).toThrow(/must be a number/);
    expect(() => parseOverrides(['--optim.epoch', '5'])).toThrow(/unknown config key 'optim.epoch'/);
    expect(() => parseOverrides(['--optim'])).toThrow(/missing value/);
    expect(() => parseOverrides(['--optim', 'x'])).toThrow(/is a group/);
  });
});

describe('flattenConfig', () => {
  it('flattens to dotted string params', () => {
    const flat = flattenConfig(resolveConfig({ model: { widths: [8, 16] } }));
    expect(flat['optim.batchSize']).toBe('256');
    expect(flat['model.widths']).toBe('8,16');
  });
});
