// The one typed, validated pretraining configuration (zod): every key's type, range, default and meaning.
//
// - Layers (defaults ← preset ← experiment ← --config file ← CLI) are deep-merged, then parsed once: an unknown
//   key is an error naming the closest known key, a bad value an error naming the key and its rule.
// - Unset means absent: optional keys (`name`, `data.dir`, `data.subset`, `model.widths`, `optim.maxSteps`,
//   `knn.every`, …) have no placeholder value; `loss.*` holds only what the user set until the method's
//   defaults (and the λ-with-dimension rule) fill it in `resolveConfig`, so a run logs the values it used.
// - The method and dataset enums are the registries of @unigrad/losses and @unigrad/data, so a registered
//   method or dataset is a valid value with no edit here.
import { closest } from 'fastest-levenshtein';
import { z } from 'zod';
import { datasetNames, isDatasetName } from '@unigrad/data';
import { HYPER_KEYS, HYPER_RULES, defaultHyper, getMethod, hyperKeysFor, isMethodName, methodNames, type Hyper } from '@unigrad/losses';

const int = () => z.number().int();
const positiveInt = () => z.number().int().positive();
const probability = () => z.number().min(0).max(1);

const lossSchema = z.strictObject({
  ...(Object.fromEntries(HYPER_KEYS.map((key) => [key, z.number().optional().describe(`${HYPER_RULES[key].doc}; ${HYPER_RULES[key].range}; absent = the method's default`)])) as Record<
    keyof Hyper,
    z.ZodOptional<z.ZodNumber>
  >),
  scaleLambdaWithDim: z
    .boolean()
    .default(false)
    .describe("scale the default λ of the UniGrad / Barlow Twins / VICReg gradient forms by projectorOut/2048 (the paper's λ is for D = 2048)"),
});

export const configSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a run name is letters, digits, ".", "_" and "-" (no slashes)')
    .optional()
    .describe('run name (the checkpoint sub-directory); absent = <method>-<variant>-seed<seed>'),
  preset: z.string().default('custom').describe('preset this config was resolved from'),
  seed: int().default(42).describe('seed of every random draw (init, data order, augmentation)'),
  method: z.string().default('unigrad').describe('method (a registered name)'),
  form: z.enum(['original', 'grad']).default('grad').describe("'original' = the method's own loss; 'grad' = its gradient (surrogate) form"),
  target: z.enum(['mm', 'no_mm']).default('mm').describe("gradient form's targets: momentum encoder ('mm') or stop-gradient online outputs ('no_mm')"),
  cutmix: z.boolean().default(false).describe('UniGrad + CutMix (CutMix on the online views, mixed positives)'),
  data: z
    .strictObject({
      dataset: z.string().default('fashion-mnist').describe('dataset (a registered name)'),
      dir: z.string().min(1).optional().describe("dataset directory; absent = the dataset's default location"),
      subset: positiveInt().optional().describe('pretrain on the first N (seeded) training images; absent = all'),
      imageSize: positiveInt().default(28).describe('side of the square crops fed to the network'),
    })
    .prefault({}),
  augment: z
    .strictObject({
      cropScaleMin: z.number().gt(0).max(1).default(0.2).describe('RandomResizedCrop minimum area fraction'),
      cropScaleMax: z.number().gt(0).max(1).default(1.0).describe('RandomResizedCrop maximum area fraction'),
      brightness: z.number().min(0).default(0.4).describe('ColorJitter brightness'),
      contrast: z.number().min(0).default(0.4).describe('ColorJitter contrast'),
      saturation: z.number().min(0).default(0.4).describe('ColorJitter saturation (skipped on grayscale data)'),
      hue: z.number().min(0).max(0.5).default(0.1).describe('ColorJitter hue (skipped on grayscale data)'),
      jitterProb: probability().default(0.8).describe('probability of ColorJitter'),
      grayscaleProb: probability().default(0.2).describe('probability of RandomGrayscale (skipped on grayscale data)'),
      blurProb: probability().default(0.5).describe('probability of Gaussian blur'),
      blurSigmaMin: z.number().min(0).default(0.1).describe('blur σ range, pixels'),
      blurSigmaMax: z.number().min(0).default(2.0).describe('blur σ range, pixels'),
      flipProb: probability().default(0.5).describe('probability of a horizontal flip'),
    })
    .prefault({}),
  model: z
    .strictObject({
      trunk: z.enum(['convnet', 'resnet18', 'resnet50']).default('convnet').describe('encoder trunk'),
      stem: z.enum(['imagenet', 'cifar']).default('cifar').describe('ResNet stem (ignored by the convnet)'),
      widths: z.array(positiveInt()).min(1).optional().describe("stage widths, e.g. 16,32,64; absent = the architecture's default"),
      zeroInitResidual: z.boolean().default(true).describe('zero-init the last BN of each residual block (ResNets)'),
      projectorHidden: positiveInt().default(512).describe('projector hidden width'),
      projectorOut: positiveInt().default(512).describe('projector output width D (the embedding)'),
      predictorHidden: positiveInt().default(128).describe('hidden width of the learned predictor (original BYOL / SimSiam)'),
    })
    .prefault({}),
  optim: z
    .strictObject({
      optimizer: z.enum(['sgd', 'lars']).default('sgd').describe('pretraining optimizer'),
      baseLr: z.number().positive().default(0.05).describe('lr = baseLr × batchSize / 256 (spec §7.2)'),
      batchSize: positiveInt().default(256).describe('images per step (each gives two views)'),
      epochs: positiveInt().default(10).describe('pretraining epochs'),
      warmupEpochs: z.number().min(0).default(1).describe('linear warm-up length in epochs (fractions allowed)'),
      momentum: z.number().min(0).max(1).default(0.9).describe('SGD momentum'),
      weightDecay: z.number().min(0).default(1e-4).describe('weight decay'),
      baseMomentum: probability().default(0.996).describe('EMA momentum m0 of the cosine schedule m0 → 1 (spec §6.1)'),
      maxSteps: positiveInt().optional().describe('stop after this many steps; absent = all epochs'),
    })
    .prefault({}),
  loss: lossSchema.prefault({}),
  perMethod: z
    .record(z.string(), lossSchema.omit({ scaleLambdaWithDim: true }))
    .optional()
    .describe("hyper-parameters by method, used only when that method runs (a preset's MoCo queue, a test's tiny queue); loss.* still wins"),
  knn: z
    .strictObject({
      every: positiveInt().optional().describe('run the kNN monitor every N epochs; absent = never'),
      k: positiveInt().default(200).describe('neighbours'),
      temperature: z.number().positive().default(0.1).describe('kNN weighting temperature'),
      bankSize: positiveInt().optional().describe('bank images from the train split; absent = all'),
      querySize: positiveInt().optional().describe('query images from the test split; absent = all'),
    })
    .prefault({}),
  probe: z
    .strictObject({
      kind: z
        .enum(['logistic', 'fast', 'paper'])
        .default('logistic')
        .describe("'logistic' = standardised features, logistic regression to convergence (L-BFGS), L2 chosen on a validation split of train; 'fast' = LARS on cached features; 'paper' = the official LARS protocol (spec §8)"),
      l2Grid: z.array(z.number().min(0)).min(1).optional().describe("logistic: L2 strengths tried on the validation split; absent = libs/eval's DEFAULT_L2_GRID"),
      epochs: positiveInt().default(30).describe('probe epochs (LARS probes)'),
      baseLr: z.number().positive().default(0.1).describe('probe lr = baseLr × batchSize / 256'),
      batchSize: positiveInt().default(256).describe('probe batch'),
      evalEvery: positiveInt().default(10).describe('evaluate every N probe epochs'),
    })
    .prefault({}),
  output: z
    .strictObject({
      dir: z.string().min(1).default('runs').describe('root folder for checkpoints and metrics'),
      logEvery: positiveInt().default(10).describe('report metrics to the tracker every N steps'),
      keepEpochCheckpoints: z.boolean().default(false).describe('also keep epoch-<k>.ckpt after every epoch (for npm run grad-compare -- --run)'),
    })
    .prefault({}),
});

/** A resolved pretraining config: every default filled, `loss` holding the hyper-parameters the method uses. */
export type PretrainConfig = z.output<typeof configSchema>;
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
/** A layer over the defaults: a preset, an experiment, a config file, the CLI. */
export type ConfigOverride = DeepPartial<z.input<typeof configSchema>>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars of later layers replace earlier ones. */
export function mergeLayers(...layers: unknown[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [i, layer] of layers.entries()) {
    if (layer === undefined) continue;
    if (!isPlainObject(layer)) throw new ConfigError(`config layer ${i + 1} must be an object, got ${JSON.stringify(layer)}`);
    for (const [key, value] of Object.entries(layer)) {
      result[key] = isPlainObject(value) && isPlainObject(result[key]) ? mergeLayers(result[key], value) : isPlainObject(value) ? mergeLayers(value) : value;
    }
  }
  return result;
}

/** A leaf of the schema: its dotted key, value type and description (for the CLI, --help and suggestions). */
export interface ConfigKey {
  key: string;
  type: 'number' | 'integer' | 'boolean' | 'string' | 'number[]' | 'enum';
  values?: readonly string[];
  default?: unknown;
  optional: boolean;
  description: string;
}

type AnySchema = z.ZodType & { isInt?: boolean; def: { type: string; innerType?: AnySchema; defaultValue?: unknown; entries?: Record<string, string>; shape?: Record<string, AnySchema> } };

function describeLeaf(key: string, schema: AnySchema): ConfigKey {
  let node = schema;
  let optional = false;
  let defaultValue: unknown;
  let description = schema.description ?? '';
  for (;;) {
    if (node.def.type === 'optional') optional = true;
    else if (node.def.type === 'default' || node.def.type === 'prefault') defaultValue = node.def.defaultValue;
    else break;
    node = node.def.innerType!;
    description ||= node.description ?? '';
  }
  const kind = node.def.type;
  const type: ConfigKey['type'] =
    kind === 'enum' ? 'enum' : kind === 'array' ? 'number[]' : kind === 'boolean' ? 'boolean' : kind === 'number' ? (node.isInt ? 'integer' : 'number') : 'string';
  return { key, type, values: kind === 'enum' ? Object.values(node.def.entries!) : undefined, default: defaultValue, optional, description };
}

function leaves(shape: Record<string, AnySchema>, prefix = ''): ConfigKey[] {
  return Object.entries(shape).flatMap(([name, schema]) => {
    let inner = schema;
    while (inner.def.type === 'prefault' || inner.def.type === 'default') inner = inner.def.innerType!;
    const key = prefix ? `${prefix}.${name}` : name;
    // perMethod (a record by method name) is set in presets and config files, not as a flag.
    if (inner.def.type === 'optional' && inner.def.innerType!.def.type === 'record') return [];
    return inner.def.type === 'object' ? leaves(inner.def.shape!, key) : [describeLeaf(key, schema)];
  });
}

/** Every config key, dotted, in schema order. */
export const CONFIG_KEYS: readonly ConfigKey[] = leaves(configSchema.shape as unknown as Record<string, AnySchema>);

/** Dotted keys and group names at the depth of `name` (so `optm` is compared with `optim`, not with leaves). */
function configPaths(name: string): string[] {
  const depth = name.split('.').length;
  const all = new Set(CONFIG_KEYS.flatMap((k) => k.key.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  return [...all].filter((p) => p.split('.').length === depth);
}

/** "did you mean …?" for a misspelt dotted key (or any name among `candidates`). */
export function suggest(name: string, candidates: readonly string[] = configPaths(name)): string {
  if (!candidates.length) return '';
  const lower = name.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  return ` (did you mean ${exactCase ?? closest(name, [...candidates])}?)`;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `unknown config key '${path ? `${path}.${k}` : k}'${suggest(path ? `${path}.${k}` : k)}`).join('; ');
  }
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_value' && 'values' in issue) return `config key '${path}' must be one of ${issue.values.join(', ')}; got ${JSON.stringify(input)}`;
  return `config key '${path}': ${issue.message.replace(/^Invalid input: /, '')} (got ${JSON.stringify(input)})`;
}

/** Cross-key rules and the registries (method, dataset); hyper-parameters against the chosen method. */
function checkResolved(config: PretrainConfig): string[] {
  const problems: string[] = [];
  if (!isMethodName(config.method)) return [`config key 'method' must be a registered method (${methodNames().join(', ')}); got '${config.method}'${suggest(config.method, methodNames())}`];
  if (!isDatasetName(config.data.dataset)) {
    problems.push(`config key 'data.dataset' must be a registered dataset (${datasetNames().join(', ')}); got '${config.data.dataset}'${suggest(config.data.dataset, datasetNames())}`);
  }
  const method = getMethod(config.method);
  if (config.form === 'original' && !method.hasOriginal) problems.push(`${config.method} has no 'original' loss (its closed form is the gradient form): use form 'grad'`);
  if (config.cutmix && !(method.rows.some((r) => r.cells.some((c) => c.cutmix)) && config.form === 'grad')) {
    problems.push(`cutmix is defined only where a method declares a CutMix cell (UniGrad's gradient form); got method ${config.method}, form ${config.form}`);
  }
  if (config.cutmix && config.target !== 'mm') problems.push("cutmix mixes the momentum encoder's targets: it needs target 'mm'");
  if (config.optim.warmupEpochs > config.optim.epochs) problems.push(`optim.warmupEpochs must be in [0, optim.epochs] (got ${config.optim.warmupEpochs})`);
  if (config.augment.cropScaleMin > config.augment.cropScaleMax) problems.push('augment crop scale must satisfy cropScaleMin <= cropScaleMax');
  if (config.augment.blurSigmaMin > config.augment.blurSigmaMax) problems.push('augment blur must satisfy blurSigmaMin <= blurSigmaMax');
  for (const [name, hyper] of Object.entries(config.perMethod ?? {})) {
    if (!isMethodName(name)) {
      problems.push(`perMethod.${name}: not a registered method (${methodNames().join(', ')})${suggest(name, methodNames())}`);
      continue;
    }
    const m = getMethod(name);
    const anyForm = new Set([...hyperKeysFor(m, 'grad'), ...(m.hasOriginal ? hyperKeysFor(m, 'original') : [])]);
    for (const [key, value] of Object.entries(hyper)) {
      if (value === undefined) continue;
      if (!anyForm.has(key as keyof Hyper)) problems.push(`perMethod.${name}.${key} is not a hyper-parameter of ${name}; it uses ${[...anyForm].join(', ')}`);
      else if (!HYPER_RULES[key as keyof Hyper].check(value)) problems.push(`perMethod.${name}.${key} must be ${HYPER_RULES[key as keyof Hyper].range}, got ${value}`);
    }
  }
  const used = hyperKeysFor(method, config.form);
  for (const key of HYPER_KEYS) {
    const value = config.loss[key];
    if (value === undefined) continue;
    if (!used.includes(key)) problems.push(`loss.${key} is not a hyper-parameter of ${config.method} (${config.form} form); it uses ${used.length ? used.map((k) => `loss.${k}`).join(', ') : 'none'}`);
    else {
      const rule = HYPER_RULES[key];
      if (!rule.check(value)) problems.push(`loss.${key} must be ${rule.range}, got ${value}`);
    }
  }
  return problems;
}

/**
 * Resolves defaults ← each layer in order, validates everything, then fills `loss` with the method's resolved
 * hyper-parameters (spec defaults, λ scaled with the embedding width when asked, N = the batch, then the values
 * set explicitly). Throws ConfigError listing every problem.
 */
export function resolveConfig(...layers: unknown[]): PretrainConfig {
  const parsed = configSchema.safeParse(mergeLayers(...layers), { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(formatIssue);
    throw new ConfigError(problems.length === 1 ? problems[0] : `invalid config:\n  - ${problems.join('\n  - ')}`);
  }
  const config = parsed.data;
  const problems = checkResolved(config);
  if (problems.length) throw new ConfigError(problems.length === 1 ? problems[0] : `invalid config:\n  - ${problems.join('\n  - ')}`);
  const method = getMethod(config.method);
  const explicit = Object.fromEntries(HYPER_KEYS.filter((k) => config.loss[k] !== undefined).map((k) => [k, config.loss[k]]));
  const defaults = defaultHyper(method, config.form, { dim: config.model.projectorOut, batchSize: config.optim.batchSize, scaleWithDim: config.loss.scaleLambdaWithDim });
  const used = new Set(hyperKeysFor(method, config.form));
  const forThisMethod = Object.fromEntries(Object.entries(config.perMethod?.[config.method] ?? {}).filter(([k, v]) => v !== undefined && used.has(k as keyof Hyper)));
  config.loss = { ...defaults, ...forThisMethod, ...explicit, scaleLambdaWithDim: config.loss.scaleLambdaWithDim };
  // perMethod has done its job: the run logs the values it used, in loss.*.
  delete config.perMethod;
  return config;
}

/** The method hyper-parameters of a resolved config (what the loss receives). */
export function hyperOf(config: PretrainConfig): Hyper {
  const { scaleLambdaWithDim: _scale, ...hyper } = config.loss;
  return hyper;
}

/** The built-in defaults (the schema with no layer), resolved. */
export function defaultConfig(): PretrainConfig {
  return resolveConfig();
}

/** Parses a CLI value by the key's type: numbers, booleans, number lists as `1,2,3`, strings and enums; `none` unsets an optional key. */
export function parseValue(key: ConfigKey, raw: string): unknown {
  // An optional key can be unset from the command line (e.g. `--knn.every none` turns a preset's monitor off).
  if (key.optional && raw === 'none') return undefined;
  switch (key.type) {
    case 'number':
    case 'integer': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`--${key.key} must be a number, got '${raw}'`);
      return value;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`--${key.key} must be true or false, got '${raw}'`);
      return raw === 'true';
    case 'number[]': {
      const values = raw.split(',').map((s) => Number(s.trim()));
      if (raw.trim() === '' || values.some((v) => !Number.isFinite(v))) throw new ConfigError(`--${key.key} must be a comma list of numbers like 16,32,64, got '${raw}'`);
      return values;
    }
    default:
      return raw;
  }
}

/** `{ 'optim.epochs': '3' }` → `{ optim: { epochs: 3 } }`, typed by the schema; unknown keys name the closest. */
export function overridesFromFlags(values: Record<string, string>): Record<string, unknown> {
  const override: Record<string, unknown> = {};
  for (const [dotted, raw] of Object.entries(values)) {
    const key = CONFIG_KEYS.find((k) => k.key === dotted);
    if (!key) throw new ConfigError(`unknown config key '${dotted}'${suggest(dotted)}`);
    const parts = dotted.split('.');
    let node = override;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = parseValue(key, raw);
  }
  return override;
}

/** Flattens a config to dotted keys (MLflow params); absent keys are left out. */
export function flattenConfig(value: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) Object.assign(out, flattenConfig(inner, prefix ? `${prefix}.${key}` : key));
  } else {
    out[prefix] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}
