export {
  CONFIG_KEYS,
  ConfigError,
  configSchema,
  defaultConfig,
  flattenConfig,
  hyperOf,
  mergeLayers,
  overridesFromFlags,
  parseValue,
  resolveConfig,
  suggest,
} from './schema';
export type { ConfigKey, ConfigOverride, DeepPartial, PretrainConfig } from './schema';
export { CONFIG_FLAGS, DRY_RUN, EXIT, configFromSources, exitWithError, helpText, intFlag, optionalIntFlag, parseCli, readConfigFile } from './cli';
export type { CliSpec, ConfigSources, FlagSpec, FlagValues, ParsedArgs } from './cli';
export { PRESETS, fmnist, fmnistWide, getPreset, paper, quick } from './presets';
export type { PresetName } from './presets';
export { CLAIMS, PAPER_METHODS } from './claims';
