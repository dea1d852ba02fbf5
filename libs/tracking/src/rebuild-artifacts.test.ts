import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_REBUILT_TAG, rebuildMissingArtifacts, unflattenParams } from './rebuild-artifacts';
import { RunStore } from './store';
import { createTracker } from './tracker';

const dir = mkdtempSync(join(tmpdir(), 'rebuild-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rebuilding lost artifact copies from the events', () => {
  const config = { name: '', seed: 42, cutmix: false, data: { dataset: 'fashion-mnist', subset: 0, imageSize: 28 }, model: { widths: [16, 32, 64], stem: 'cifar' }, optim: { baseLr: 0.05 } };
  const flat = { name: '', seed: '42', cutmix: 'false', 'data.dataset': 'fashion-mnist', 'data.subset': '0', 'data.imageSize': '28', 'model.widths': '16,32,64', 'model.stem': 'cifar', 'optim.baseLr': '0.05' };

  it('inverts the dotted-key flattening, typed by a template or by the values', () => {
    expect(unflattenParams(flat, config)).toEqual(config);
    expect(JSON.stringify(unflattenParams(flat, config))).toBe(JSON.stringify(config)); // same key order
    expect(unflattenParams({ a: '1', b: 'true', c: 'x', 'd.e': '' })).toEqual({ a: 1, b: true, c: 'x', d: { e: '' } });
  });

  it('writes config.json and metrics.csv where the copies are missing, tags the run, leaves checkpoints alone', async () => {
    const tracker = createTracker({ storeDir: dir, trackingUri: '', systemTags: {} });
    const run = await tracker.startRun({ experiment: 'e', runName: 'pretrain', params: flat });
    run.logMetrics(10, { loss: 2, lr: 0.1 });
    run.logMetrics(20, { loss: 1, lr: 0.05 });
    const src = join(dir, 'config.json');
    writeFileSync(src, '{}');
    run.logArtifact(src, 'config.json');
    run.logArtifact(src, 'metrics.csv');
    run.logArtifact(src, 'checkpoint');
    await run.end();
    const store = new RunStore(dir);
    for (const f of ['config.json', 'metrics.csv', 'checkpoint']) rmSync(join(store.artifactDir(run.id), f));

    const out = rebuildMissingArtifacts({ store, configTemplate: config });
    expect(out.map((r) => r.artifactPath)).toEqual(['config.json', 'metrics.csv']);
    expect(readFileSync(join(store.artifactDir(run.id), 'config.json'), 'utf8')).toBe(JSON.stringify(config, null, 2) + '\n');
    expect(readFileSync(join(store.artifactDir(run.id), 'metrics.csv'), 'utf8')).toBe('step,loss,lr\n10,2,0.1\n20,1,0.05\n');
    expect(existsSync(join(store.artifactDir(run.id), 'checkpoint'))).toBe(false);
    const r = store.readRun(run.id);
    expect(r.tags[ARTIFACTS_REBUILT_TAG]).toMatch(/^config.json, metrics.csv rebuilt from this run's events/);
    expect(r.status).toBe('FINISHED');
    expect(rebuildMissingArtifacts({ store })).toEqual([]); // nothing left to rebuild
  });
});
