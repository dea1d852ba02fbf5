import { describe, expect, it } from 'vitest';
import { PRESETS } from './presets';
import { configFromSources } from './cli';
import { CONFIG_KEYS, ConfigError, defaultConfig, flattenConfig, overridesFromFlags, resolveConfig } from './schema';

describe('resolveConfig', () => {
  it('applies layers in order over the defaults', () => {
    const config = resolveConfig(PRESETS.quick, { method: 'simclr', optim: { epochs: 2 } });
    expect(config.method).toBe('simclr');
    expect(config.optim.epochs).toBe(2);
    expect(config.optim.batchSize).toBe(128); // from quick
    expect(config.optim.momentum).toBe(defaultConfig().optim.momentum); // from the schema's defaults
  });

  it('rejects an unknown key and names the closest known key', () => {
    expect(() => resolveConfig({ optim: { epoch: 2 } })).toThrow("unknown config key 'optim.epoch' (did you mean optim.epochs?)");
    expect(() => resolveConfig({ optim: { batchsize: 2 } })).toThrow('did you mean optim.batchSize?');
    expect(() => resolveConfig({ optm: {} })).toThrow('did you mean optim');
  });

  it('rejects a wrong type, a value outside an enum and an unregistered method', () => {
    expect(() => resolveConfig({ optim: { epochs: '2' } })).toThrow(/'optim.epochs'.*expected number/);
    expect(() => resolveConfig({ model: { trunk: 'vit' } })).toThrow(`config key 'model.trunk' must be one of convnet, resnet18, resnet50; got "vit"`);
    expect(() => resolveConfig({ method: 'simclrr' })).toThrow(/registered method .* got 'simclrr' \(did you mean simclr\?\)/);
    expect(() => resolveConfig({ data: { dataset: 'cifar100' } })).toThrow(/registered dataset/);
  });

  it('rejects out-of-range values and impossible combinations', () => {
    expect(() => resolveConfig({ optim: { batchSize: 0 } })).toThrow(ConfigError);
    expect(() => resolveConfig({ method: 'unigrad', form: 'original' })).toThrow(/no 'original' loss/);
    expect(() => resolveConfig({ method: 'byol', cutmix: true })).toThrow(/cutmix/);
    expect(() => resolveConfig({ name: '../x' })).toThrow(/no slashes/);
    expect(() => resolveConfig({ optim: { epochs: 2, warmupEpochs: 3 } })).toThrow(/warmupEpochs/);
  });

  it('unset is absent, never 0', () => {
    const config = defaultConfig();
    expect(config.data.subset).toBeUndefined();
    expect(config.optim.maxSteps).toBeUndefined();
    expect(config.knn.every).toBeUndefined();
    expect(config.model.widths).toBeUndefined();
    expect('name' in config).toBe(false);
    expect(() => resolveConfig({ data: { subset: 0 } })).toThrow(/data.subset/);
  });

  it("fills loss with the method's resolved hyper-parameters (defaults, λ scaled with D, N = batch, explicit values)", () => {
    const at256 = { model: { projectorOut: 256 }, optim: { batchSize: 64 }, loss: { scaleLambdaWithDim: true } };
    expect(resolveConfig(at256, { method: 'unigrad' }).loss).toEqual({ lambda: 12.5, rho: 0.99, scaleLambdaWithDim: true });
    expect(resolveConfig(at256, { method: 'barlow_twins' }).loss).toEqual({ lambda: 6.25, wholeBatchSize: 64, scaleLambdaWithDim: true });
    expect(resolveConfig(at256, { method: 'barlow_twins', form: 'original' }).loss).toEqual({ lambda: 0.0051, scaleLambdaWithDim: true });
    expect(resolveConfig(at256, { method: 'unigrad', loss: { lambda: 30 } }).loss.lambda).toBe(30);
    // An ablation at 0 is a value, not "the default".
    expect(resolveConfig({ method: 'unigrad', loss: { lambda: 0, rho: 0 } }).loss).toMatchObject({ lambda: 0, rho: 0 });
    expect(resolveConfig({ method: 'simclr' }).loss).toEqual({ tau: 0.2, scaleLambdaWithDim: false });
  });

  it('rejects a hyper-parameter the method does not use, and one out of its range', () => {
    expect(() => resolveConfig({ method: 'unigrad', loss: { tau: 0.1 } })).toThrow('loss.tau is not a hyper-parameter of unigrad (grad form); it uses loss.lambda, loss.rho');
    expect(() => resolveConfig({ method: 'unigrad', loss: { rho: 2 } })).toThrow('loss.rho must be in [0, 1], got 2');
    expect(() => resolveConfig({ method: 'moco', loss: { queueSize: 10.5 } })).toThrow(/queueSize must be a positive integer/);
  });

  it('applies perMethod hyper-parameters only to their method; loss.* still wins; the resolved config keeps loss only', () => {
    const layer = { perMethod: { moco: { queueSize: 32 }, unigrad: { rho: 0.9 } } };
    expect(resolveConfig(layer, { method: 'moco' }).loss).toEqual({ tau: 0.2, queueSize: 32, scaleLambdaWithDim: false });
    expect(resolveConfig(layer, { method: 'simclr' }).loss).toEqual({ tau: 0.2, scaleLambdaWithDim: false });
    expect(resolveConfig(layer, { method: 'moco', loss: { queueSize: 64 } }).loss.queueSize).toBe(64);
    expect('perMethod' in resolveConfig(layer, { method: 'moco' })).toBe(false);
    expect(() => resolveConfig({ perMethod: { mocco: { tau: 1 } } })).toThrow(/not a registered method.*did you mean moco/);
    expect(() => resolveConfig({ perMethod: { moco: { lambda: 1 } } })).toThrow(/perMethod.moco.lambda is not a hyper-parameter of moco/);
  });

  it('every preset resolves', () => {
    for (const preset of Object.values(PRESETS)) expect(() => resolveConfig(preset)).not.toThrow();
  });
});

describe('overridesFromFlags', () => {
  it('types values by the schema', () => {
    expect(overridesFromFlags({ 'optim.epochs': '3', cutmix: 'true', 'model.widths': '8,16', method: 'byol' })).toEqual({
      optim: { epochs: 3 },
      cutmix: true,
      model: { widths: [8, 16] },
      method: 'byol',
    });
  });

  it('names the problem', () => {
    expect(() => overridesFromFlags({ 'optim.epochs': 'five' })).toThrow(/must be a number/);
    expect(() => overridesFromFlags({ 'optim.epoch': '5' })).toThrow("unknown config key 'optim.epoch' (did you mean optim.epochs?)");
    expect(() => overridesFromFlags({ cutmix: 'yes' })).toThrow(/true or false/);
    expect(() => overridesFromFlags({ seed: 'none' })).toThrow(/must be a number/);
  });

  it("unsets an optional key with 'none' (a preset's kNN monitor off)", () => {
    expect(resolveConfig(PRESETS.quick, overridesFromFlags({ 'knn.every': 'none', 'data.subset': 'none' })).knn.every).toBeUndefined();
    expect(resolveConfig(PRESETS.quick, overridesFromFlags({ 'data.subset': 'none' })).data.subset).toBeUndefined();
  });
});

describe('CONFIG_KEYS', () => {
  it('documents every leaf with its type and default', () => {
    const keys = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
    expect(keys.get('optim.batchSize')).toMatchObject({ type: 'integer', default: 256, optional: false });
    expect(keys.get('data.subset')).toMatchObject({ type: 'integer', optional: true });
    expect(keys.get('model.trunk')).toMatchObject({ type: 'enum', values: ['convnet', 'resnet18', 'resnet50'] });
    expect(keys.get('loss.lambda')).toMatchObject({ type: 'number', optional: true });
    expect(CONFIG_KEYS.every((k) => k.description.length > 0)).toBe(true);
  });
});

describe('flattenConfig', () => {
  it('flattens to dotted string params and leaves absent keys out', () => {
    const flat = flattenConfig(resolveConfig({ model: { widths: [8, 16] } }));
    expect(flat['optim.batchSize']).toBe('256');
    expect(flat['model.widths']).toBe('8,16');
    expect(flat['loss.lambda']).toBe('100');
    expect('data.subset' in flat).toBe(false);
  });
});

describe('configFromSources with --dry-run', () => {
  it('puts checkpoints under runs/dry-run unless a layer chose a folder (an explicit `--output.dir runs` included)', () => {
    const dry = (configValues: Record<string, string>) => configFromSources({ preset: PRESETS['fmnist-wide'], flags: { 'dry-run': true }, configValues });
    expect(dry({}).output.dir).toBe('runs/dry-run');
    expect(dry({ 'output.dir': 'runs' }).output.dir).toBe('runs');
    expect(dry({ 'output.dir': '/tmp/x' }).output.dir).toBe('/tmp/x');
    expect(dry({}).data.dataset).toBe('synthetic');
    expect(configFromSources({ preset: PRESETS['fmnist-wide'], flags: {}, configValues: {} }).output.dir).toBe('runs');
  });
});
