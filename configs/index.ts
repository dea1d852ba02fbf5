export { ConfigError, DEFAULT_CONFIG, METHOD_NAMES, checkConfig, flattenConfig, mergeConfig, parseOverrides, resolveConfig } from './schema';
export type { ConfigOverride, DeepPartial, MethodName, PretrainConfig } from './schema';
export { PRESETS, fmnist, getPreset, paper, quick } from './presets';
export type { PresetName } from './presets';
