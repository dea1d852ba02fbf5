// npm run linear-eval -- --checkpoint <latest.ckpt> [--preset P] [--probe.<key> v] [--data.<key> v]   (--help)
// Probes the online trunk of a pretraining checkpoint with the protocol of its own preset (spec §8), of --preset,
// or with the probe settings given here. Logs a tracked "probe" run and prints best and final top-1 / top-5.
import { initBackend } from '@unigrad/core';
import { ConfigError, EXIT, exitWithError, getPreset, overridesFromFlags, parseCli, resolveConfig, type CliSpec } from '@unigrad/configs';
import { loadTrunkFromCheckpoint, probeLabel, trackedProbe } from '@unigrad/engine';
import { createTracker } from '@unigrad/tracking';

const CLI: CliSpec = {
  usage: 'npm run linear-eval -- --checkpoint <path> [options] [--probe.<key> <value> | --data.<key> <value> ...]',
  summary: "Linear evaluation of a pretraining checkpoint's frozen online trunk; only probe.* and data.* keys may be overridden.",
  flags: {
    checkpoint: { type: 'string', valueName: 'path', description: 'pretraining checkpoint, e.g. runs/quick/<run>/latest.ckpt (required)' },
    preset: { type: 'string', valueName: 'name', description: "use this preset's probe protocol instead of the checkpoint's own" },
  },
  configKeys: true,
  exitCodes: { [EXIT.runtime]: 'data or runtime error', [EXIT.usage]: 'bad usage or config' },
};

async function main(): Promise<void> {
  const { flags, configValues } = parseCli(process.argv.slice(2), CLI);
  if (typeof flags.checkpoint !== 'string') throw new ConfigError('missing --checkpoint <path to a pretraining checkpoint> (e.g. runs/quick/<run>/latest.ckpt); see --help');
  const unsupported = Object.keys(configValues).filter((k) => !k.startsWith('probe.') && !k.startsWith('data.'));
  if (unsupported.length) throw new ConfigError(`linear-eval takes probe.* and data.* overrides only; got ${unsupported.map((k) => `--${k}`).join(', ')}`);
  const presetProbe = typeof flags.preset === 'string' ? { probe: getPreset(flags.preset).probe ?? {} } : {};
  const overrides = overridesFromFlags(configValues);

  await initBackend();
  const loaded = loadTrunkFromCheckpoint(flags.checkpoint);
  const config = resolveConfig(loaded.config, presetProbe, overrides);
  console.log(`[linear-eval] ${flags.checkpoint} (step ${loaded.step}): ${config.method} ${config.form}/${config.target}, probe ${probeLabel(config)}`);
  const tracker = createTracker();
  const { result, runId } = await trackedProbe(loaded.trunk, config, { tracker, source: flags.checkpoint });
  await tracker.flush();
  loaded.trunk.dispose();
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(`[linear-eval] ${result.protocol}: top-1 ${pct(result.top1)}, top-5 ${pct(result.top5)} (${result.selection}); run ${runId}`);
}

main().catch(exitWithError);
