// The paper preset's --dry-run: ResNet-50 + the 2048-d projector, two steps on a tiny synthetic batch. It runs on
// the fastest backend this machine has (ResNet-50 on the pure-JS cpu backend takes many minutes).
import { initBackend } from '@unigrad/core';
import { PRESETS, resolveConfig } from '@unigrad/configs';
import { loadCheckpoint } from '@unigrad/models';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRY_RUN } from '@unigrad/configs';
import { pretrain } from './train';

describe('paper preset --dry-run', () => {
  it('builds ResNet-50 + 2048-d projector with the momentum encoder and runs two steps (at 32 px)', async () => {
    const backend = await initBackend({ log: false });
    console.log(`paper dry-run on backend ${backend.name}`);
    const config = resolveConfig(PRESETS.paper, { method: 'unigrad' }, DRY_RUN, {
      data: { imageSize: 32 },
      optim: { batchSize: 4 },
      output: { dir: mkdtempSync(join(tmpdir(), 'paper-dry-')) },
    });
    const result = await pretrain(config, { log: false });
    expect(result.steps).toBe(2);
    expect(Number.isFinite(result.finalMetrics!.loss)).toBe(true);
    const { tensors } = loadCheckpoint(result.checkpointPath);
    expect(tensors['encoder.layer4.2.conv3.weight'].shape).toEqual([1, 1, 512, 2048]);
    expect(tensors['momentum_encoder.conv1.weight'].shape).toEqual([7, 7, 3, 64]);
    const projectorWeights = Object.entries(tensors).filter(([k]) => k.startsWith('projector.') && k.endsWith('weight') && tensors[k].shape.length === 2);
    expect(projectorWeights.map(([, t]) => t.shape)).toEqual([
      [2048, 2048],
      [2048, 2048],
      [2048, 2048],
    ]);
    expect(tensors['state.F'].shape).toEqual([2048, 2048]);
  });
});
