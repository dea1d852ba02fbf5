// Command lines, for every CLI of the workspace: node:util parseArgs with the tool's own flags plus (for the
// training tools) one `--<dotted config key> <value>` option per schema key; `--help` prints both and exits 0;
// an unknown flag names the closest known one; a bad value is rejected before anything is loaded.
import { datasetNames } from '@unigrad/data';
import { methodNames } from '@unigrad/losses';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PRESETS } from './presets';
import { CONFIG_KEYS, ConfigError, defaultConfig, overridesFromFlags, resolveConfig, suggest, type ConfigOverride, type PretrainConfig } from './schema';

export interface FlagSpec {
  /** 'string' flags take a value; 'boolean' flags do not. */
  type: 'string' | 'boolean';
  description: string;
  /** Shown as `--name <valueName>`. */
  valueName?: string;
  /** May be given more than once (values collected in order). */
  multiple?: boolean;
}

export interface CliSpec {
  /** How to call it, e.g. `npm run pretrain -- [options]`. */
  usage: string;
  /** One paragraph: what the tool does. */
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Accept `--<config key> <value>` overrides (and list them in --help). */
  configKeys?: boolean;
  /** Exit codes beyond 0, shown in --help. */
  exitCodes?: Record<number, string>;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  /** `--<config key> <value>` pairs, raw (typed by `overridesFromFlags`). */
  configValues: Record<string, string>;
}

/** Exit codes shared by every CLI (README "Exit codes"). */
export const EXIT = { ok: 0, runtime: 1, usage: 2, nonFiniteLoss: 3, sigint: 130, sigterm: 143 } as const;

const HELP: FlagSpec = { type: 'boolean', description: 'print this help and exit' };

/** The --help text of a CLI: usage, summary, its flags, then (for training tools) every config key. */
export function helpText(spec: CliSpec): string {
  const flags = { help: HELP, ...spec.flags };
  const rows = Object.entries(flags).map(([name, f]) => [`--${name}${f.type === 'string' ? ` <${f.valueName ?? 'value'}>` : ''}`, f.description + (f.multiple ? ' (repeatable)' : '')]);
  const lines = [`usage: ${spec.usage}`, '', spec.summary, '', 'options:', ...table(rows)];
  if (spec.configKeys) {
    lines.push('', 'config keys (--<key> <value>; default shown; "absent" = unset, and `none` unsets an optional key):');
    lines.push(
      ...table(
        CONFIG_KEYS.map((k) => [
          `--${k.key} <${k.key === 'method' ? methodNames().join('|') : k.key === 'data.dataset' ? datasetNames().join('|') : k.type === 'enum' ? k.values!.join('|') : k.type}>`,
          `${k.description} [${k.default !== undefined ? JSON.stringify(k.default) : k.optional ? 'absent' : 'required'}]`,
        ]),
      ),
    );
  }
  const codes = { 0: 'success', ...spec.exitCodes };
  lines.push('', `exit codes: ${Object.entries(codes).map(([code, what]) => `${code} ${what}`).join(', ')}`);
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const width = Math.min(44, Math.max(...rows.map((r) => r[0].length)));
  return rows.map(([left, right]) => (left.length > width ? `  ${left}\n  ${' '.repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`));
}

/**
 * Parses argv against a CLI spec. `--help` prints the help and exits 0. Errors are ConfigErrors (exit 2) that
 * name the problem: an unknown flag with the closest known one, a missing value, a stray positional argument.
 */
export function parseCli(argv: string[], spec: CliSpec): ParsedArgs {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText(spec));
    process.exit(0);
  }
  const configOptions = spec.configKeys ? Object.fromEntries(CONFIG_KEYS.map((k) => [k.key, { type: 'string' as const }])) : {};
  const ownOptions = Object.fromEntries(Object.entries(spec.flags).map(([name, f]) => [name, { type: f.type, multiple: Boolean(f.multiple) }]));
  const known = [...Object.keys(spec.flags), ...Object.keys(configOptions)];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { ...configOptions, ...ownOptions }, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(explainParseError(err as Error & { code?: string }, known));
  }
  const flags: FlagValues = {};
  const configValues: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name in spec.flags) flags[name] = value as FlagValues[string];
    else configValues[name] = value as string;
  }
  return { flags, configValues };
}

function explainParseError(err: Error & { code?: string }, known: string[]): string {
  const option = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
  const name = option.replace(/^-+/, '');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option}'${known.length ? suggest(name, known).replace('(did you mean ', '(did you mean --') : ''}; see --help`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message) ? `${option} needs a value; see --help` : `${err.message}; see --help`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']+)'/.exec(err.message)?.[1] ?? ''}: options look like --optim.epochs 5; see --help`;
    default:
      return `${err.message}; see --help`;
  }
}

/** An integer flag's value (>= min), its default when absent; a bad value is a ConfigError naming the flag. */
export function intFlag(flags: FlagValues, name: string, fallback: number, min = 1): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < min) throw new ConfigError(`--${name} needs an integer >= ${min}, got '${String(raw)}'`);
  return value;
}

/** An optional integer flag (undefined when absent). */
export function optionalIntFlag(flags: FlagValues, name: string, min = 1): number | undefined {
  return flags[name] === undefined ? undefined : intFlag(flags, name, 0, min);
}

/** Overrides that make any preset run two steps on a tiny synthetic batch. */
export const DRY_RUN: ConfigOverride = {
  data: { dataset: 'synthetic', subset: undefined },
  optim: { batchSize: 8, maxSteps: 2, epochs: 1, warmupEpochs: 0 },
  knn: { every: undefined },
  probe: { epochs: 1, evalEvery: 1, batchSize: 32 },
};

/** The flags every training tool shares: which preset, cell and config file to build the config from. */
export const CONFIG_FLAGS: Record<string, FlagSpec> = {
  preset: { type: 'string', valueName: 'name', description: `preset from configs/presets.ts (${Object.keys(PRESETS).join(' | ')})` },
  experiment: { type: 'string', valueName: 'row:variant', description: 'a table cell (see `npm run reproduce -- --list`), e.g. simclr:grad-mm' },
  config: { type: 'string', valueName: 'file.json', description: 'a JSON override file (same shape as the config; unknown keys are errors)' },
  'dry-run': { type: 'boolean', description: 'tiny synthetic data, batch 8, two steps: checks that everything builds' },
};

export function readConfigFile(path: string): unknown {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface ConfigSources {
  /** Preset layer (already looked up). */
  preset?: ConfigOverride;
  /** Experiment layer (a table cell's overrides). */
  experiment?: ConfigOverride;
  flags: FlagValues;
  configValues: Record<string, string>;
  /** Extra layers after the CLI (e.g. a seed chosen by reproduce). */
  after?: ConfigOverride[];
}

/** defaults ← preset ← experiment ← --config file ← CLI overrides ← extra layers ← dry-run, resolved and validated. */
export function configFromSources(sources: ConfigSources): PretrainConfig {
  const layers: unknown[] = [sources.preset, sources.experiment];
  if (typeof sources.flags.config === 'string') layers.push(readConfigFile(sources.flags.config));
  layers.push(overridesFromFlags(sources.configValues), ...(sources.after ?? []));
  if (sources.flags['dry-run']) layers.push(DRY_RUN);
  const config = resolveConfig(...layers);
  // A dry run's checkpoints go under runs/dry-run unless some layer chose a folder: in the preset's own folder a
  // two-step checkpoint of synthetic data would block (as "a different config") the real cell of the same name.
  const chosenDir = layers.some((layer) => (layer as { output?: { dir?: unknown } } | undefined)?.output?.dir !== undefined);
  if (sources.flags['dry-run'] && !chosenDir) config.output.dir = join(defaultConfig().output.dir, 'dry-run');
  return config;
}

/** Prints a clear one-line error and exits: 2 for bad input (usage, config), 1 for anything else. */
export function exitWithError(err: unknown): never {
  const error = err as Error;
  const badInput = error instanceof ConfigError || error?.name === 'ConfigError' || error?.name === 'LossInputError';
  console.error(`error: ${error?.message ?? String(err)}`);
  if (!badInput && process.env.UNIGRAD_DEBUG) console.error(error.stack);
  process.exit(badInput ? EXIT.usage : EXIT.runtime);
}
