// End to end on tiny synthetic checkpoints: the checkpoint's own network, data and augmentation → a record, its
// SVGs and its Markdown section.
import { initBackend } from '@unigrad/core';
import { resolveConfig, type ConfigOverride } from '@unigrad/configs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pretrain } from '../train';
import { REFERENCE_ID } from './gradients';
import { gradCompareCheckpoint, type GradCompareRecord } from './measure';
import { heatmapSvg, lineChartSvg, markdownSection } from './render';
import { allCosines } from './report';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** 64 synthetic 16×16 images, a 2-stage convnet, batch 8, 3 steps. */
async function tinyCheckpoint(overrides: ConfigOverride): Promise<string> {
  const config = resolveConfig(
    {
      data: { dataset: 'synthetic', imageSize: 16 },
      model: { trunk: 'convnet', widths: [4, 8], projectorHidden: 16, projectorOut: 16, predictorHidden: 8 },
      optim: { batchSize: 8, epochs: 1, warmupEpochs: 0, maxSteps: 3 },
      output: { dir: mkdtempSync(join(tmpdir(), 'grad-compare-')), logEvery: 1 },
    },
    overrides,
  );
  return (await pretrain(config, { log: false })).checkpointPath;
}

function entry(record: GradCompareRecord, target: string, id: string) {
  return record.contexts.find((c) => c.target === target)!.entries.find((e) => e.id === id)!;
}

function checkCosines(record: GradCompareRecord): void {
  const all = allCosines(record.contexts);
  expect(all.length).toBeGreaterThan(0);
  for (const c of all) expect(c >= -1 && c <= 1, String(c)).toBe(true);
}

describe('gradCompareCheckpoint', () => {
  it('an original BYOL checkpoint: the learned predictor and momentum encoder are used, F is estimated, MoCo gets keys of the other batch', async () => {
    const path = await tinyCheckpoint({ method: 'byol', form: 'original' });
    const record = await gradCompareCheckpoint(path, { batches: 2 });
    expect(record.checkpoint).toMatchObject({ method: 'byol', form: 'original', step: 3, hasPredictor: true, hasMomentumEncoder: true });
    expect(record.batches).toBe(2);
    expect(record.states.F).toMatch(/no F/);
    expect(record.states.queue).toMatch(/other 1 measured batches/);
    for (const target of ['mm', 'no_mm']) {
      const ctx = record.contexts.find((c) => c.target === target)!;
      expect(ctx.available).toBe(true);
      expect(ctx.samples).toBe(2 * 2 * 8);
      for (const e of ctx.entries) expect(e.available, `${target} ${e.id}: ${e.unavailable}`).toBe(true);
      expect(entry(record, target, REFERENCE_ID).cosineToUniGrad).toBeCloseTo(1, 9);
      expect(entry(record, target, 'byol:grad').cosineToUniGrad).toBeCloseTo(entry(record, target, 'simsiam:grad').cosineToUniGrad!, 9);
    }
    checkCosines(record);
    const svg = heatmapSvg(record);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('BYOL orig');
    const md = markdownSection([record], { command: 'npm run grad-compare -- --checkpoint x' });
    expect(md).toMatch(/equivalence claim/);
    expect(md).toContain('`npm run grad-compare -- --checkpoint x`');
  });

  it("a UniGrad w/o-mm checkpoint: the mm context is n/a, F is the checkpoint's, the numbers are reproducible", async () => {
    const path = await tinyCheckpoint({ method: 'unigrad', form: 'grad', target: 'no_mm' });
    const a = await gradCompareCheckpoint(path, { batches: 2 });
    expect(a.checkpoint.hasMomentumEncoder).toBe(false);
    expect(a.states.F).toMatch(/checkpoint's state\.F/);
    const mm = a.contexts.find((c) => c.target === 'mm')!;
    expect(mm.available).toBe(false);
    expect(mm.reason).toMatch(/no momentum encoder/);
    expect(entry(a, 'no_mm', 'byol:original').unavailable).toMatch(/no learned predictor/);
    expect(entry(a, 'no_mm', 'byol:original-wp').available).toBe(true);
    checkCosines(a);
    const b = await gradCompareCheckpoint(path, { batches: 2 });
    expect(b.contexts).toEqual(a.contexts);
    const chart = lineChartSvg([a, { ...b, checkpoint: { ...b.checkpoint, step: 6, epoch: 2 } }]);
    expect(chart.startsWith('<svg')).toBe(true);
    expect(chart).toContain('<polyline');
    expect(markdownSection([a, { ...b, checkpoint: { ...b.checkpoint, step: 6, epoch: 2 } }])).toMatch(/Over training/);
  });
});
