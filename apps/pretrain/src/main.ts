// npm run pretrain -- [--preset quick|fmnist|paper] [--experiment <row:variant>] [--config file.json]
//                     [--resume <checkpoint>] [--dry-run] [--<key> <value> ...]
import { initBackend } from '@unigrad/core';
import { createTracker } from '@unigrad/tracking';
import { exitWithError, parseCommandLine } from './cli';
import { trackedPretrain } from './run';
import { NonFiniteLossError } from './train';

async function main(): Promise<void> {
  const { config, flags } = parseCommandLine(process.argv.slice(2), { withValue: ['resume'], boolean: [] });
  await initBackend();
  console.log(`[pretrain] resolved config: ${JSON.stringify(config)}`);
  const tracker = createTracker();
  const result = await trackedPretrain(config, { tracker, resume: typeof flags.resume === 'string' ? flags.resume : undefined });
  await tracker.flush();
  console.log(`[pretrain] ${result.interrupted ? 'interrupted' : 'done'}: ${result.steps} steps, checkpoint ${result.checkpointPath}, run ${result.runId}`);
  if (result.interrupted) process.exit(130);
}

main().catch((err) => {
  if (err instanceof NonFiniteLossError) {
    console.error(`error: ${err.message}`);
    process.exit(3);
  }
  exitWithError(err);
});
