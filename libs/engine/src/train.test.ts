import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { resolveConfig, type ConfigOverride, type PretrainConfig } from '@unigrad/configs';
import { listExperiments } from '@unigrad/experiments';
import { loadCheckpoint } from '@unigrad/models';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteLossError, RunExistsError, pretrain, runDir } from './train';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** A tiny config: 64 synthetic 16×16 images, a 2-stage convnet, batch 8 → 8 steps per epoch. */
function tiny(overrides: ConfigOverride = {}): PretrainConfig {
  return resolveConfig(
    {
      data: { dataset: 'synthetic', imageSize: 16 },
      model: { trunk: 'convnet', widths: [4, 8], projectorHidden: 16, projectorOut: 16, predictorHidden: 8 },
      optim: { batchSize: 8, epochs: 2, warmupEpochs: 1 },
      perMethod: { moco: { queueSize: 32 } },
      output: { dir: mkdtempSync(join(tmpdir(), 'pretrain-')), logEvery: 1 },
    },
    overrides,
  );
}

async function weightsOf(path: string): Promise<Record<string, Float32Array | Int32Array>> {
  const checkpoint = loadCheckpoint(path);
  return Object.fromEntries(Object.entries(checkpoint.tensors).map(([k, v]) => [k, v.data]));
}

describe('pretrain', () => {
  it('resumes exactly: 2 epochs straight equal 1 epoch + resume + 1 epoch', async () => {
    const straight = await pretrain(tiny({ method: 'unigrad' }), { log: false });
    const config = tiny({ method: 'unigrad' });
    const first = await pretrain(config, { log: false, stopAfterSteps: 8 });
    expect(first.steps).toBe(8);
    expect(first.interrupted).toBe(true);
    expect((loadCheckpoint(first.checkpointPath).meta as { step: number }).step).toBe(8);
    const resumed = await pretrain(config, { log: false, resume: first.checkpointPath });
    expect(resumed.steps).toBe(16);

    const a = await weightsOf(straight.checkpointPath);
    const b = await weightsOf(resumed.checkpointPath);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    // Weights, EMA weights, optimizer slots and the F state are bit-identical.
    for (const key of Object.keys(a)) expect(Array.from(b[key]), key).toEqual(Array.from(a[key]));
    expect(Object.keys(a).some((k) => k.startsWith('momentum_encoder.'))).toBe(true);
    expect(Object.keys(a).some((k) => k.startsWith('optim.'))).toBe(true);
    expect(Object.keys(a)).toContain('state.F');
  });

  it('keeps the number of live tensors constant from step to step (50 steps)', async () => {
    const counts: number[] = [];
    await pretrain(tiny({ method: 'moco', optim: { epochs: 7, maxSteps: 50 } }), {
      log: false,
      onStep: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(counts.length).toBe(50);
    // From the second step on (the first creates the optimizer slots and the method state), nothing accumulates.
    expect(new Set(counts.slice(2)).size).toBe(1);
  });

  it('stops on a non-finite loss before the bad update, naming this run\'s last checkpoint, which stays intact', async () => {
    const config = tiny({ method: 'unigrad', optim: { epochs: 2 } });
    let before: Buffer | undefined;
    const run = pretrain(config, {
      log: false,
      // After epoch 1's checkpoint, poison the projector's last weight: step 8's loss is NaN.
      onEpochEnd: (_epoch, _step, net) => {
        before = readFileSync(join(runDir(config), 'latest.ckpt'));
        const [, weight] = [...net.onlineParams()].at(-1)!;
        weight.assign(tf.fill(weight.shape, NaN));
      },
    });
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(new RegExp(`loss is NaN at step 8.*last good checkpoint is ${join(runDir(config), 'latest.ckpt')}`, 's'));
    expect(readFileSync(join(runDir(config), 'latest.ckpt')).equals(before!)).toBe(true);
  });

  it('never overwrites an earlier run without --overwrite; --resume continues it', async () => {
    const config = tiny({ method: 'simclr', optim: { maxSteps: 3 } });
    const first = await pretrain(config, { log: false });
    await expect(pretrain(config, { log: false })).rejects.toThrow(RunExistsError);
    await expect(pretrain(config, { log: false })).rejects.toThrow(/already holds a run: continue it with --resume .*latest.ckpt, start over with --overwrite/);
    const again = await pretrain(config, { log: false, overwrite: true });
    expect(again.steps).toBe(3);
    expect(readFileSync(first.metricsPath, 'utf8').trim().split('\n')).toHaveLength(4); // header + 3 steps, not 6
  });

  it('truncates metrics.csv to the checkpoint on resume (no duplicate steps) and removes orphan temp files', async () => {
    const config = tiny({ method: 'unigrad' });
    const first = await pretrain(config, { log: false, stopAfterSteps: 8 });
    // A crash after step 10: rows the checkpoint (step 8) does not cover, and a half-written temp file.
    appendFileSync(first.metricsPath, '9,1,0,0,0,0,0,0\n10,1,0,0,0,0,0,0\n');
    writeFileSync(join(first.outDir, '.latest.ckpt.12345.1700000000000.tmp'), 'partial');
    await pretrain(config, { log: false, resume: first.checkpointPath });
    const steps = readFileSync(first.metricsPath, 'utf8').trim().split('\n').slice(1).map((row) => Number(row.split(',')[0]));
    expect(steps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(readdirSync(first.outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is deterministic for a seed on the cpu backend', async () => {
    const a = await pretrain(tiny({ method: 'byol', optim: { maxSteps: 3 } }), { log: false });
    const b = await pretrain(tiny({ method: 'byol', optim: { maxSteps: 3 } }), { log: false });
    const wa = await weightsOf(a.checkpointPath);
    const wb = await weightsOf(b.checkpointPath);
    for (const key of Object.keys(wa)) expect(Array.from(wb[key]), key).toEqual(Array.from(wa[key]));
    expect(readFileSync(a.metricsPath, 'utf8').split('\n')[1].split(',').slice(0, 4)).toEqual(readFileSync(b.metricsPath, 'utf8').split('\n')[1].split(',').slice(0, 4));
  });

  it('runs every table cell for two steps with finite metrics; no_mm runs keep no momentum encoder', async () => {
    for (const experiment of listExperiments().filter((e) => e.variant !== 'baseline')) {
      const config = tiny({ ...experiment.overrides, optim: { maxSteps: 2 } });
      const losses: number[] = [];
      const result = await pretrain(config, { log: false, onStep: (_step, m) => void losses.push(m.loss, m.pos_sim, m.embedding_std) });
      expect(result.steps, experiment.id).toBe(2);
      expect(losses.every(Number.isFinite), experiment.id).toBe(true);
      const keys = Object.keys(loadCheckpoint(result.checkpointPath).tensors);
      const hasTarget = keys.some((k) => k.startsWith('momentum_encoder.'));
      if (experiment.variant === 'grad-no-mm') expect(hasTarget, experiment.id).toBe(false);
      if (experiment.variant === 'grad-mm') expect(hasTarget, experiment.id).toBe(true);
      if (experiment.row === 'byol' || experiment.row === 'simsiam') {
        expect(keys.some((k) => k.startsWith('predictor.')), experiment.id).toBe(experiment.variant === 'original');
      }
    }
  });
});
