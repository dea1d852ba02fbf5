// Command-line → resolved config, shared by apps/pretrain and apps/experiment.
//   --preset <quick|fmnist|paper>   shared preset from configs/
//   --experiment <row:variant>      a table cell from experiments/ (method, form, target, cutmix)
//   --config <file.json>            a JSON override file (same shape as PretrainConfig, unknown keys are errors)
//   --dry-run                       tiny synthetic data, batch 8, two steps: checks that everything builds
//   --<key> <value>                 any config key, dotted for nested ones (e.g. --optim.epochs 3)
import { ConfigError, getPreset, parseOverrides, resolveConfig, type ConfigOverride, type PretrainConfig } from '@unigrad/configs';
import { getExperiment } from '@unigrad/experiments';
import { existsSync, readFileSync } from 'node:fs';

export interface ParsedCommandLine {
  config: PretrainConfig;
  /** Flags the caller handles itself (e.g. --resume), by name. */
  flags: Record<string, string | true>;
}

/** Overrides that make any preset run two steps on a tiny synthetic batch. */
export const DRY_RUN: ConfigOverride = {
  data: { dataset: 'synthetic', subset: 0 },
  optim: { batchSize: 8, maxSteps: 2, epochs: 1, warmupEpochs: 0 },
  knn: { every: 0 },
  probe: { epochs: 1, evalEvery: 1, batchSize: 32 },
};

/**
 * Splits argv into this tool's flags and config overrides, then resolves the config:
 * defaults ← preset ← experiment ← --config file ← CLI overrides ← dry-run.
 */
export function parseCommandLine(argv: string[], ownFlags: { withValue: string[]; boolean: string[] }, defaultPreset = 'quick'): ParsedCommandLine {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? splitFlag(arg.slice(2)) : [null, null];
    const known = ['preset', 'experiment', 'config', ...ownFlags.withValue];
    if (name && known.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name} needs a value`);
      flags[name] = value;
    } else if (name && ['dry-run', ...ownFlags.boolean].includes(name)) {
      flags[name] = true;
    } else {
      rest.push(arg);
    }
  }
  const layers: unknown[] = [getPreset(String(flags.preset ?? defaultPreset))];
  if (typeof flags.experiment === 'string') layers.push(getExperiment(flags.experiment).overrides);
  if (typeof flags.config === 'string') layers.push(readConfigFile(flags.config));
  layers.push(parseOverrides(rest));
  if (flags['dry-run']) layers.push(DRY_RUN);
  return { config: resolveConfig(...layers), flags };
}

function splitFlag(text: string): [string, string | null] {
  const eq = text.indexOf('=');
  return eq >= 0 ? [text.slice(0, eq), text.slice(eq + 1)] : [text, null];
}

export function readConfigFile(path: string): unknown {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Prints a clear one-line error and exits non-zero: 2 for bad input, 1 otherwise. */
export function exitWithError(err: unknown): never {
  const error = err as Error;
  const badInput = error instanceof ConfigError || /^(unknown|invalid|missing)/i.test(error.message ?? '');
  console.error(`error: ${error.message ?? String(err)}`);
  if (!badInput && process.env.UNIGRAD_DEBUG) console.error(error.stack);
  process.exit(badInput ? 2 : 1);
}
