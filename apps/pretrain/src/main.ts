// npm run pretrain -- [--preset P] [--experiment row:variant] [--config file.json] [--resume ckpt] [--dry-run]
//                     [--<config key> <value> ...]        (--help lists everything)
import { initBackend } from '@unigrad/core';
import { CONFIG_FLAGS, ConfigError, EXIT, configFromSources, exitWithError, getPreset, parseCli, type CliSpec } from '@unigrad/configs';
import { NonFiniteLossError, StopRequest, trackedPretrain } from '@unigrad/engine';
import { getExperiment } from '@unigrad/experiments';
import { createTracker } from '@unigrad/tracking';

/** Config keys --resume accepts: they change what is reported, not what is computed. */
const RESUME_KEYS = ['output.logEvery'];

const CLI: CliSpec = {
  usage: 'npm run pretrain -- [options] [--<config key> <value> ...]',
  summary: 'Pretrains one encoder (a table cell, or any config) with tracking; checkpoints every epoch and on Ctrl-C / SIGTERM.',
  flags: {
    ...CONFIG_FLAGS,
    resume: { type: 'string', valueName: 'checkpoint', description: `continue a run exactly from its checkpoint, with the checkpoint's config (only ${RESUME_KEYS.map((k) => `--${k}`).join(', ')} may be given)` },
    overwrite: { type: 'boolean', description: 'start over in a run directory that already holds a run' },
  },
  configKeys: true,
  exitCodes: { [EXIT.runtime]: 'data or runtime error', [EXIT.usage]: 'bad usage or config', [EXIT.nonFiniteLoss]: 'non-finite loss (last checkpoint intact)', [EXIT.sigint]: 'stopped by SIGINT (checkpoint written, run KILLED)', [EXIT.sigterm]: 'stopped by SIGTERM (same)' },
};

async function main(): Promise<void> {
  const { flags, configValues } = parseCli(process.argv.slice(2), CLI);
  if (typeof flags.resume === 'string') {
    const refused = [...['preset', 'experiment', 'config', 'dry-run', 'overwrite'].filter((f) => flags[f] !== undefined), ...Object.keys(configValues).filter((k) => !RESUME_KEYS.includes(k))];
    if (refused.length) {
      throw new ConfigError(`--resume continues the checkpoint's own config exactly; it does not take ${refused.map((k) => `--${k}`).join(', ')} (allowed: ${RESUME_KEYS.map((k) => `--${k}`).join(', ')})`);
    }
  }
  const config = configFromSources({
    preset: getPreset(typeof flags.preset === 'string' ? flags.preset : 'quick'),
    experiment: typeof flags.experiment === 'string' ? getExperiment(flags.experiment).overrides : undefined,
    flags,
    configValues,
  });
  const stop = new StopRequest('pretrain').install();
  await initBackend();
  if (typeof flags.resume !== 'string') console.log(`[pretrain] resolved config: ${JSON.stringify(config)}`);
  const tracker = createTracker({ dryRun: Boolean(flags['dry-run']) });
  const result = await trackedPretrain(config, { tracker, stop, resume: typeof flags.resume === 'string' ? flags.resume : undefined, overwrite: Boolean(flags.overwrite) });
  await tracker.flush();
  console.log(`[pretrain] ${result.interrupted ? 'interrupted' : 'done'}: ${result.steps} steps, checkpoint ${result.checkpointPath}, run ${result.runId}`);
  if (stop.requested) process.exit(stop.exitCode());
}

main().catch((err) => {
  if (err instanceof NonFiniteLossError) {
    console.error(`error: ${err.message}`);
    process.exit(EXIT.nonFiniteLoss);
  }
  exitWithError(err);
});
