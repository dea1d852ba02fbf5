// What the tracked runs are called and tagged, and their metric keys (issue 15), without training anything.
import { PRESETS, resolveConfig } from '@unigrad/configs';
import { getExperiment } from '@unigrad/experiments';
import { describe, expect, it } from 'vitest';
import { cellLabel } from './cell';
import { datasetInput } from './datasets';
import type { ProbeReport } from './probe';
import { probeMetrics, probeTags } from './tracked-probe';
import { runLabel, trainMetrics } from './tracked-pretrain';

describe('tracked run names, tags and metric keys', () => {
  const simclr = getExperiment('simclr:grad-mm');
  const config = resolveConfig(PRESETS.quick, simclr.overrides, { seed: 42 });

  it('names runs variant-first and short', () => {
    expect(runLabel(config)).toBe('simclr grad-mm s42');
    expect(cellLabel(simclr, config)).toBe('simclr grad-mm s42');
    const raw = getExperiment('baseline-raw:baseline');
    expect(cellLabel(raw, resolveConfig(PRESETS.quick, raw.overrides, { seed: 42 }))).toBe('baseline-raw s42');
  });

  it('tags a baseline probe as form=baseline without a target', () => {
    expect(probeTags(config)).toMatchObject({ 'unigrad.form': 'grad', 'unigrad.target': 'mm', 'unigrad.variant': 'grad-mm' });
    const tags = probeTags(config, 'raw');
    expect(tags['unigrad.form']).toBe('baseline');
    expect(tags['unigrad.target']).toBeUndefined();
    expect(tags['unigrad.method']).toBe('baseline_raw');
    expect(tags['unigrad.dataset']).toBe(config.data.dataset);
  });

  it('namespaces metrics and keeps the flat names the results table reads', () => {
    expect(trainMetrics({ loss: 1, lr: 0.1 })).toEqual({ 'train/loss': 1, 'train/lr': 0.1 });
    const report: ProbeReport = {
      protocol: 'fast-lars-20ep',
      top1: 0.8,
      top5: 0.99,
      selection: 'final-epoch',
      metrics: { probe_final_top1: 0.8, probe_best_top1: 0.81, probe_val_top1: NaN },
      series: [],
    };
    expect(probeMetrics(report)).toEqual({
      'probe/top1': 0.8,
      'probe/top5': 0.99,
      'probe/final_top1': 0.8,
      'probe/best_top1': 0.81,
      probe_top1: 0.8,
      probe_top5: 0.99,
      probe_final_top1: 0.8,
    });
  });

  it('logs datasets with a content digest and their source', async () => {
    const synthetic = resolveConfig(PRESETS.quick, { data: { dataset: 'synthetic', dir: '/data/x' }, seed: 1 });
    const a = await datasetInput(synthetic, 'train', 'training');
    expect(a).toMatchObject({ name: 'synthetic-train', sourceType: 'local', source: JSON.stringify({ path: '/data/x' }), context: 'training' });
    expect(a.digest).toMatch(/^[0-9a-f]{32}$/);
    expect((await datasetInput(synthetic, 'train', 'training')).digest).toBe(a.digest); // a digest of the content
    expect((await datasetInput({ ...synthetic, seed: 2 }, 'train', 'training')).digest).not.toBe(a.digest); // other pixels
    expect(JSON.parse(a.profile!).num_rows).toBe(64);
  });
});
