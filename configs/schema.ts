// The typed pretraining configuration, its defaults, and validation at load time.
//
// Validation follows nanoGPT's "poor man's configurator": the defaults object is the schema. Every override key
// must exist in it (a typo is an error, not a silent default), every value must have the default's type, and
// enumerated fields must take one of their listed values. The resolved config is logged with every run.

export const METHOD_NAMES = ['moco', 'simclr', 'simsiam', 'byol', 'vicreg', 'barlow_twins', 'unigrad'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export interface PretrainConfig {
  /** Run name (also the checkpoint sub-directory). */
  name: string;
  /** Preset this config was resolved from (quick | fmnist | paper | custom). */
  preset: string;
  seed: number;
  method: MethodName;
  /** 'original' = the method's own loss; 'grad' = the gradient (surrogate) form of spec §3/§4. */
  form: 'original' | 'grad';
  /** Target branch of the gradient form: momentum encoder ('mm') or stop-gradient online outputs ('no_mm'). */
  target: 'mm' | 'no_mm';
  /** UniGrad + CutMix (this project's reading, see experiments/unigrad-cutmix-grad-mm.ts). */
  cutmix: boolean;
  data: {
    dataset: 'fashion-mnist' | 'cifar10' | 'imagefolder' | 'synthetic';
    /** Dataset directory; '' = the dataset's default location. */
    dir: string;
    /** Use only the first N (seeded) training images; 0 = all. */
    subset: number;
    /** Side of the square crops fed to the network. */
    imageSize: number;
  };
  augment: {
    cropScaleMin: number;
    cropScaleMax: number;
    /** ColorJitter strengths; saturation and hue are skipped on grayscale data. */
    brightness: number;
    contrast: number;
    saturation: number;
    hue: number;
    jitterProb: number;
    grayscaleProb: number;
    blurProb: number;
    blurSigmaMin: number;
    blurSigmaMax: number;
    flipProb: number;
  };
  model: {
    trunk: 'convnet' | 'resnet18' | 'resnet50';
    stem: 'imagenet' | 'cifar';
    /** Stage widths; empty = the architecture's default. */
    widths: number[];
    zeroInitResidual: boolean;
    projectorHidden: number;
    projectorOut: number;
    /** Hidden width of the learned predictor (original BYOL / SimSiam only). */
    predictorHidden: number;
  };
  optim: {
    optimizer: 'sgd' | 'lars';
    /** lr = baseLr × batchSize / 256 (spec §7.2). */
    baseLr: number;
    batchSize: number;
    epochs: number;
    /** Warm-up length in epochs (fractions allowed; rounded to whole steps). */
    warmupEpochs: number;
    momentum: number;
    weightDecay: number;
    /** EMA momentum m0 of the cosine schedule 0.996 → 1 (spec §6.1). */
    baseMomentum: number;
    /** Stop after this many steps (0 = run all epochs); used by --dry-run. */
    maxSteps: number;
  };
  /** Method hyper-parameters; 0 means "the method's spec default". */
  loss: {
    lambda: number;
    rho: number;
    eps: number;
    tau: number;
    wholeBatchSize: number;
    simCoeff: number;
    stdCoeff: number;
    covCoeff: number;
    queueSize: number;
    /**
     * Scale the spec's default λ of the UniGrad, Barlow Twins and VICReg gradient forms by projectorOut / 2048.
     * Their repulsion term λ·F·z (or λ·C·z) acts through a correlation of unit vectors whose eigenvalues are ~1/D
     * when the embedding is spread out, so λ/D is what sets the balance against the −z_target pull; the paper's
     * λ was chosen for D = 2048. Ignored when `lambda` is set explicitly.
     */
    scaleLambdaWithDim: boolean;
  };
  knn: {
    /** Run the kNN monitor every N epochs (0 = never). */
    every: number;
    k: number;
    temperature: number;
    /** Bank / query sizes (0 = full train / test split). */
    bankSize: number;
    querySize: number;
  };
  probe: {
    /** 'fast' = cached frozen features; 'paper' = augmented batches through the frozen trunk (spec §8). */
    kind: 'fast' | 'paper';
    epochs: number;
    baseLr: number;
    batchSize: number;
    evalEvery: number;
  };
  output: {
    /** Root folder for checkpoints and metrics. */
    dir: string;
    logEvery: number;
  };
}

export const DEFAULT_CONFIG: PretrainConfig = {
  name: '',
  preset: 'custom',
  seed: 42,
  method: 'unigrad',
  form: 'grad',
  target: 'mm',
  cutmix: false,
  data: { dataset: 'fashion-mnist', dir: '', subset: 0, imageSize: 28 },
  augment: {
    cropScaleMin: 0.2,
    cropScaleMax: 1.0,
    brightness: 0.4,
    contrast: 0.4,
    saturation: 0.4,
    hue: 0.1,
    jitterProb: 0.8,
    grayscaleProb: 0.2,
    blurProb: 0.5,
    blurSigmaMin: 0.1,
    blurSigmaMax: 2.0,
    flipProb: 0.5,
  },
  model: {
    trunk: 'convnet',
    stem: 'cifar',
    widths: [],
    zeroInitResidual: true,
    projectorHidden: 512,
    projectorOut: 512,
    predictorHidden: 128,
  },
  optim: {
    optimizer: 'sgd',
    baseLr: 0.05,
    batchSize: 256,
    epochs: 10,
    warmupEpochs: 1,
    momentum: 0.9,
    weightDecay: 1e-4,
    baseMomentum: 0.996,
    maxSteps: 0,
  },
  loss: { lambda: 0, rho: 0, eps: 0, tau: 0, wholeBatchSize: 0, simCoeff: 0, stdCoeff: 0, covCoeff: 0, queueSize: 0, scaleLambdaWithDim: false },
  knn: { every: 0, k: 200, temperature: 0.1, bankSize: 0, querySize: 0 },
  probe: { kind: 'fast', epochs: 30, baseLr: 0.1, batchSize: 256, evalEvery: 10 },
  output: { dir: 'runs', logEvery: 10 },
};

/** Enumerated fields: dotted path → allowed values. */
const ENUMS: Record<string, readonly string[]> = {
  method: METHOD_NAMES,
  form: ['original', 'grad'],
  target: ['mm', 'no_mm'],
  'data.dataset': ['fashion-mnist', 'cifar10', 'imagefolder', 'synthetic'],
  'model.trunk': ['convnet', 'resnet18', 'resnet50'],
  'model.stem': ['imagenet', 'cifar'],
  'optim.optimizer': ['sgd', 'lars'],
  'probe.kind': ['fast', 'paper'],
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ConfigOverride = DeepPartial<PretrainConfig>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges `override` into a copy of `base`, rejecting unknown keys and wrong types. */
export function mergeConfig<T>(base: T, override: unknown, where = 'config'): T {
  if (!isPlainObject(override)) throw new ConfigError(`${where} must be an object, got ${JSON.stringify(override)}`);
  const result = structuredClone(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    const path = where === 'config' ? key : `${where}.${key}`;
    if (!(key in result)) {
      const known = Object.keys(result).join(', ');
      throw new ConfigError(`unknown config key '${path}' (known keys here: ${known})`);
    }
    const current = result[key];
    if (isPlainObject(current)) {
      result[key] = mergeConfig(current, value, path);
    } else if (Array.isArray(current)) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) {
        throw new ConfigError(`config key '${path}' must be an array of numbers, got ${JSON.stringify(value)}`);
      }
      result[key] = [...value];
    } else {
      if (typeof value !== typeof current) {
        throw new ConfigError(`config key '${path}' must be a ${typeof current}, got ${JSON.stringify(value)}`);
      }
      const allowed = ENUMS[path];
      if (allowed && !allowed.includes(value as string)) {
        throw new ConfigError(`config key '${path}' must be one of ${allowed.join(', ')}; got '${value}'`);
      }
      result[key] = value;
    }
  }
  return result as T;
}

/** Range checks that types alone cannot express. */
export function checkConfig(config: PretrainConfig): PretrainConfig {
  const problems: string[] = [];
  const positive = (path: string, value: number) => {
    if (!(value > 0)) problems.push(`${path} must be > 0 (got ${value})`);
  };
  const probability = (path: string, value: number) => {
    if (!(value >= 0 && value <= 1)) problems.push(`${path} must be in [0, 1] (got ${value})`);
  };
  positive('optim.batchSize', config.optim.batchSize);
  positive('optim.epochs', config.optim.epochs);
  positive('optim.baseLr', config.optim.baseLr);
  positive('data.imageSize', config.data.imageSize);
  positive('model.projectorHidden', config.model.projectorHidden);
  positive('model.projectorOut', config.model.projectorOut);
  if (!Number.isInteger(config.seed)) problems.push(`seed must be an integer (got ${config.seed})`);
  if (config.optim.warmupEpochs < 0 || config.optim.warmupEpochs > config.optim.epochs) {
    problems.push(`optim.warmupEpochs must be in [0, optim.epochs] (got ${config.optim.warmupEpochs})`);
  }
  if (config.optim.batchSize % 2 !== 0 && config.cutmix) problems.push('optim.batchSize must be even with cutmix');
  for (const key of ['jitterProb', 'grayscaleProb', 'blurProb', 'flipProb'] as const) probability(`augment.${key}`, config.augment[key]);
  if (!(config.augment.cropScaleMin > 0 && config.augment.cropScaleMin <= config.augment.cropScaleMax && config.augment.cropScaleMax <= 1)) {
    problems.push('augment crop scale must satisfy 0 < cropScaleMin <= cropScaleMax <= 1');
  }
  probability('optim.baseMomentum', config.optim.baseMomentum);
  if (config.cutmix && !(config.method === 'unigrad' && config.form === 'grad')) {
    problems.push('cutmix is defined for the UniGrad gradient form only (method unigrad, form grad)');
  }
  if (config.method === 'unigrad' && config.form === 'original') {
    problems.push("UniGrad has no 'original' loss (its closed form is the gradient form, spec §3.1): use form 'grad'");
  }
  if (problems.length) throw new ConfigError(`invalid config:\n  - ${problems.join('\n  - ')}`);
  return config;
}

/** Resolves defaults ← each override in order, then checks ranges. */
export function resolveConfig(...overrides: unknown[]): PretrainConfig {
  let config = DEFAULT_CONFIG;
  for (const override of overrides) config = mergeConfig(config, override);
  return checkConfig(config);
}

/**
 * Parses `--key value` / `--key=value` CLI overrides into an override object, typed by the defaults
 * (numbers, booleans, number lists as `1,2,3`). Dotted keys address nested fields: `--optim.epochs 5`.
 */
export function parseOverrides(args: string[], base: PretrainConfig = DEFAULT_CONFIG): Record<string, unknown> {
  const override: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}': overrides look like --optim.epochs 5`);
    let key = arg.slice(2);
    let raw: string;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      raw = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      if (i + 1 >= args.length) throw new ConfigError(`missing value for --${key}`);
      raw = args[++i];
    }
    const parts = key.split('.');
    let defaults: unknown = base;
    for (const part of parts) {
      if (!isPlainObject(defaults) || !(part in defaults)) throw new ConfigError(`unknown config key '${key}'`);
      defaults = defaults[part];
    }
    let value: unknown;
    if (typeof defaults === 'number') {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`--${key} must be a number, got '${raw}'`);
    } else if (typeof defaults === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`--${key} must be true or false, got '${raw}'`);
      value = raw === 'true';
    } else if (Array.isArray(defaults)) {
      value = raw.trim() === '' ? [] : raw.split(',').map(Number);
    } else if (isPlainObject(defaults)) {
      throw new ConfigError(`--${key} is a group; set one of its keys, e.g. --${key}.${Object.keys(defaults)[0]}`);
    } else {
      value = raw;
    }
    let node = override;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
  }
  return override;
}

/** Flattens a config to dotted keys (for MLflow params). */
export function flattenConfig(value: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) Object.assign(out, flattenConfig(inner, prefix ? `${prefix}.${key}` : key));
  } else {
    out[prefix] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}
