// npm run linear-eval -- --checkpoint <latest.ckpt> [--probe.kind fast|paper] [--probe.epochs N] [--<probe key> v]
// Probes the online trunk of a pretraining checkpoint with the protocol of its preset (spec §8), or with the
// probe settings given here. Logs a tracked "probe" run and prints best and final top-1 / top-5.
import { initBackend } from '@unigrad/core';
import { mergeConfig, parseOverrides, type PretrainConfig } from '@unigrad/configs';
import { createTracker } from '@unigrad/tracking';
import { exitWithError } from '@unigrad/app-pretrain';
import { probeLabel, loadTrunkFromCheckpoint } from './probe';
import { trackedProbe } from './tracked';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.findIndex((a) => a === '--checkpoint' || a.startsWith('--checkpoint='));
  if (at < 0) throw new Error('missing --checkpoint <path to a pretraining checkpoint> (e.g. runs/quick/<run>/latest.ckpt)');
  const path = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  if (!path) throw new Error('missing value for --checkpoint');
  const rest = argv.filter((_, i) => i !== at && !(i === at + 1 && !argv[at].includes('=')));
  const overrides = parseOverrides(rest);
  const unsupported = Object.keys(overrides).filter((k) => k !== 'probe' && k !== 'data');
  if (unsupported.length) throw new Error(`linear-eval takes probe.* and data.* overrides only; got ${unsupported.join(', ')}`);

  await initBackend();
  const loaded = loadTrunkFromCheckpoint(path);
  const config: PretrainConfig = mergeConfig(loaded.config, overrides);
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

main().catch(exitWithError);
