// Adding a method through the registry only: a toy gradient form registered with registerMethod gets a config
// enum value, table cells, and runs end to end on the quick preset (pretrain → probe → tracked row) with no
// other file touched.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { PRESETS, resolveConfig } from '@unigrad/configs';
import { getExperiment, listExperiments, tableRows } from '@unigrad/experiments';
import { constant, gradientViews, positiveSimilarity, registerMethod, surrogate, unregisterMethod, type Method } from '@unigrad/losses';
import { createTracker, listRuns } from '@unigrad/tracking';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCell } from './cell';

/** Pull toward the other view's target, push from the batch mean: G1 = −t2 + λ·mean(t), symmetric. */
const toy: Method = {
  name: 'toy_pull',
  label: 'Toy pull',
  defaults: { lambda: 0.5 },
  originalDefaults: {},
  hasOriginal: false,
  originalNeeds: { predictor: false, target: 'none' },
  dimScaled: [],
  batchSized: [],
  rows: [{ row: 'toy_pull', label: 'Toy pull', cells: [{ variant: 'grad-mm', description: 'A toy gradient form added through the registry only.' }] }],
  original: () => {
    throw new Error('toy_pull has no original loss');
  },
  gradient(inputs, target, _state, hyper) {
    const lambda = hyper?.lambda ?? 0.5;
    const { z1, z2, s1, s2, t1, t2 } = gradientViews('toy_pull', inputs, target);
    const mean = constant(() => tf.concat([t1, t2], 0).mean(0, true));
    const G1 = constant(() => tf.add(tf.neg(t2), mean.mul(lambda)) as tf.Tensor2D);
    const G2 = constant(() => tf.add(tf.neg(t1), mean.mul(lambda)) as tf.Tensor2D);
    return { loss: surrogate(G1, z1, G2, z2), posSim: positiveSimilarity(s1, t2, s2, t1), state: {} };
  },
  initialState: () => ({}),
};

beforeAll(async () => {
  await initBackend({ log: false });
  registerMethod(toy);
});
afterAll(() => unregisterMethod('toy_pull'));

describe('a method added through the registry only', () => {
  it('is a valid config value with its hyper-parameters, and contributes its table cell', () => {
    expect(resolveConfig({ method: 'toy_pull' }).loss).toEqual({ lambda: 0.5, scaleLambdaWithDim: false });
    expect(() => resolveConfig({ method: 'toy_pull', loss: { tau: 1 } })).toThrow(/not a hyper-parameter of toy_pull/);
    expect(listExperiments().map((e) => e.id)).toContain('toy-pull:grad-mm');
    expect(tableRows().find((r) => r.method === 'toy_pull')).toEqual({ method: 'toy_pull', label: 'Toy pull', variants: ['grad-mm'] });
  });

  it('runs end to end on the quick preset: pretrain → probe → a finished, tracked row run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toy-method-'));
    const experiment = getExperiment('toy-pull:grad-mm');
    const config = resolveConfig(PRESETS.quick, experiment.overrides, { optim: { maxSteps: 3 }, knn: { every: undefined }, probe: { epochs: 1, evalEvery: 1 }, output: { dir: join(dir, 'runs') } });
    const tracker = createTracker({ storeDir: join(dir, 'store'), trackingUri: '' });
    const outcome = await runCell(experiment, config, tracker, { log: false });
    await tracker.flush();
    expect(outcome.interrupted).toBe(false);
    expect(outcome.top1).toBeGreaterThan(0.1); // above chance on 10 classes
    const runs = await listRuns({ source: 'embedded', storeDir: join(dir, 'store') });
    const row = runs.find((r) => r.id === outcome.rowRunId)!;
    expect(row.status).toBe('FINISHED');
    expect(row.tags['unigrad.cell']).toBe('toy-pull:grad-mm');
    const pretrain = runs.find((r) => r.tags['unigrad.role'] === 'pretrain')!;
    expect(pretrain.params['loss.lambda']).toBe('0.5');
    expect(pretrain.params['method']).toBe('toy_pull');
    // Namespaced keys; the headline probe accuracy also on the pretraining run; the table's flat names kept.
    expect(pretrain.status).toBe('FINISHED');
    expect(Object.keys(pretrain.metrics)).toEqual(expect.arrayContaining(['train/loss', 'train/lr', 'train/pos_sim', 'train/ema_momentum', 'train/embedding_std', 'train/images_per_s']));
    expect(pretrain.metrics['loss']).toBeUndefined();
    expect(pretrain.metrics['probe/top1']).toBe(outcome.top1);
    const probe = runs.find((r) => r.tags['unigrad.role'] === 'probe')!;
    expect(probe.metrics['probe/top1']).toBe(outcome.top1);
    expect(probe.metrics['probe_top1']).toBe(outcome.top1);
    expect(row.metrics['probe_top1']).toBe(outcome.top1);
    // Short, variant-first names and the full tag set on the row run.
    expect(row.runName).toBe(`toy-pull grad-mm s${config.seed}`);
    expect(pretrain.runName).toBe(`pretrain toy-pull grad-mm s${config.seed}`);
    expect(probe.runName).toBe(`probe toy-pull grad-mm s${config.seed}`);
    expect(row.tags).toMatchObject({ 'unigrad.form': 'grad', 'unigrad.target': 'mm', 'unigrad.dataset': config.data.dataset, 'unigrad.role': 'row' });
    expect(row.tags['unigrad.backend']).toBeTruthy();
    expect(Object.keys(probe.metrics).every((k) => k.startsWith('probe/') || k.startsWith('probe_'))).toBe(true);
  });
});
