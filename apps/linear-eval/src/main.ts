// npm run linear-eval -- --checkpoint <latest.ckpt> [--preset quick|fmnist|paper] [--probe.kind fast|paper]
//                        [--probe.epochs N] [--<probe or data key> v]
// Probes the online trunk of a pretraining checkpoint with the protocol of its own preset (spec §8), of --preset,
// or with the probe settings given here. Logs a tracked "probe" run and prints best and final top-1 / top-5.
import { initBackend } from '@unigrad/core';
import { getPreset, mergeConfig, parseOverrides, type PretrainConfig } from '@unigrad/configs';
import { createTracker } from '@unigrad/tracking';
import { exitWithError } from '@unigrad/app-pretrain';
import { probeLabel, loadTrunkFromCheckpoint } from './probe';
import { trackedProbe } from './tracked';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [path, afterCheckpoint] = takeFlag(argv, 'checkpoint');
  if (!path) throw new Error('missing --checkpoint <path to a pretraining checkpoint> (e.g. runs/quick/<run>/latest.ckpt)');
  const [preset, rest] = takeFlag(afterCheckpoint, 'preset');
  const overrides = parseOverrides(rest);
  const unsupported = Object.keys(overrides).filter((k) => k !== 'probe' && k !== 'data');
  if (unsupported.length) throw new Error(`linear-eval takes probe.* and data.* overrides only; got ${unsupported.join(', ')}`);

  await initBackend();
  const loaded = loadTrunkFromCheckpoint(path);
  const presetProbe = preset ? { probe: getPreset(preset).probe ?? {} } : {};
  const config: PretrainConfig = mergeConfig(mergeConfig(loaded.config, presetProbe), overrides);
  console.log(`[linear-eval] ${path} (step ${loaded.step}): ${config.method} ${config.form}/${config.target}, probe ${probeLabel(config)}`);
  const tracker = createTracker();
  const { result, runId } = await trackedProbe(loaded.trunk, config, { tracker, source: path });
  await tracker.flush();
  loaded.trunk.dispose();
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(
    `[linear-eval] best top-1 ${pct(result.best.top1)} (epoch ${result.best.epoch}), top-5 ${pct(result.best.top5)}; ` +
      `final top-1 ${pct(result.final.top1)}, top-5 ${pct(result.final.top5)}; run ${runId}`,
  );
}

/** Removes `--name value` / `--name=value` from argv; returns the value (undefined when absent) and the rest. */
function takeFlag(argv: string[], name: string): [string | undefined, string[]] {
  const at = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return [undefined, argv];
  const inline = argv[at].includes('=');
  const value = inline ? argv[at].slice(name.length + 3) : argv[at + 1];
  if (!value || value.startsWith('--')) throw new Error(`missing value for --${name}`);
  return [value, argv.filter((_, i) => i !== at && !(i === at + 1 && !inline))];
}

main().catch(exitWithError);
