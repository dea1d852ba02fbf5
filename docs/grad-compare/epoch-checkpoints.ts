// Stopgap until pretraining can keep per-epoch checkpoints itself (see README.md here): the same pretraining as
// `npm run pretrain -- --preset quick --experiment unigrad:grad-mm --optim.epochs 8 --knn.every none
//  --output.dir /tmp/gc-runs --name unigrad-grad-mm-8ep`, untracked, copying latest.ckpt to epoch-<k>.ckpt right
// after the loop writes it at the end of each epoch (the onEpochEnd hook runs after that save).
//   npx ts-node --transpile-only docs/grad-compare/epoch-checkpoints.ts
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@unigrad/core';
import { configFromSources, getPreset } from '@unigrad/configs';
import { pretrain, runDir } from '@unigrad/engine';
import { getExperiment } from '@unigrad/experiments';

async function main(): Promise<void> {
  await initBackend();
  const config = configFromSources({
    preset: getPreset('quick'),
    experiment: getExperiment('unigrad:grad-mm').overrides,
    flags: {},
    configValues: { 'optim.epochs': '8', 'knn.every': 'none', 'output.dir': '/tmp/gc-runs', name: 'unigrad-grad-mm-8ep' },
  });
  const dir = runDir(config);
  const result = await pretrain(config, { onEpochEnd: (epoch) => copyFileSync(join(dir, 'latest.ckpt'), join(dir, `epoch-${epoch + 1}.ckpt`)) });
  console.log(`[epoch-checkpoints] ${result.steps} steps; checkpoints in ${dir}`);
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
