// npm run pretrain -- [--preset P] [--experiment row:variant] [--config file.json] [--resume ckpt] [--dry-run]
//                     [--<config key> <value> ...]        (--help lists everything)
import { initBackend } from '@unigrad/core';
import { CONFIG_FLAGS, EXIT, configFromSources, exitWithError, getPreset, parseCli, type CliSpec } from '@unigrad/configs';
import { NonFiniteLossError, trackedPretrain } from '@unigrad/engine';
import { getExperiment } from '@unigrad/experiments';
import { createTracker } from '@unigrad/tracking';

const CLI: CliSpec = {
  usage: 'npm run pretrain -- [options] [--<config key> <value> ...]',
  summary: 'Pretrains one encoder (a table cell, or any config) with tracking; checkpoints every epoch and on Ctrl-C / SIGTERM.',
  flags: { ...CONFIG_FLAGS, resume: { type: 'string', valueName: 'checkpoint', description: "continue a run exactly from its checkpoint (the checkpoint's config is used)" } },
  configKeys: true,
  exitCodes: { [EXIT.runtime]: 'data or runtime error', [EXIT.usage]: 'bad usage or config', [EXIT.nonFiniteLoss]: 'non-finite loss (last checkpoint intact)', [EXIT.sigint]: 'stopped by a signal (checkpoint written)' },
};

async function main(): Promise<void> {
  const { flags, configValues } = parseCli(process.argv.slice(2), CLI);
  const config = configFromSources({
    preset: getPreset(typeof flags.preset === 'string' ? flags.preset : 'quick'),
    experiment: typeof flags.experiment === 'string' ? getExperiment(flags.experiment).overrides : undefined,
    flags,
    configValues,
  });
  await initBackend();
  console.log(`[pretrain] resolved config: ${JSON.stringify(config)}`);
  const tracker = createTracker();
  const result = await trackedPretrain(config, { tracker, resume: typeof flags.resume === 'string' ? flags.resume : undefined });
  await tracker.flush();
  console.log(`[pretrain] ${result.interrupted ? 'interrupted' : 'done'}: ${result.steps} steps, checkpoint ${result.checkpointPath}, run ${result.runId}`);
  if (result.interrupted) process.exit(EXIT.sigint);
}

main().catch((err) => {
  if (err instanceof NonFiniteLossError) {
    console.error(`error: ${err.message}`);
    process.exit(EXIT.nonFiniteLoss);
  }
  exitWithError(err);
});
