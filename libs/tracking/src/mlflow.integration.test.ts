// Against a real `mlflow server` (from `npm run mlflow:setup`), started once for this file on a free port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from './list-runs';
import { MlflowClient } from './mlflow-client';
import { mlflowVenvBin, startMlflowServer, type MlflowServer } from './mlflow-server';
import { readPaperResults } from './paper';
import { buildResultsTable, renderCsv } from './results-table';
import { syncStore } from './sync';
import { createTracker } from './tracker';

const venv = mlflowVenvBin();
if (!venv) console.warn('SKIPPED mlflow integration tests: no .venv/mlflow. Run `npm run mlflow:setup` (CI does) to enable them.');
const SYSTEM = { 'mlflow.user': 'ci', 'mlflow.source.name': 'libs/tracking/src/mlflow.integration.test.ts', 'mlflow.source.git.commit': '0123456789abcdef' };

describe.skipIf(!venv)('real MLflow server', () => {
  let server: MlflowServer;
  let client: MlflowClient;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mlflow-it-'));
    server = await startMlflowServer({ dir: join(work, 'server') });
    client = new MlflowClient({ trackingUri: server.url });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('creates an experiment race-safely, logs >1000 metrics, >100 params, nested runs, an artifact and a dataset, and reads all back', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => client.getOrCreateExperiment('it-client')));
    expect(new Set(ids).size).toBe(1);

    const tracker = createTracker({ storeDir: join(work, 'store-a'), trackingUri: server.url, systemTags: SYSTEM });
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`cfg.p${i}`, i % 3 === 0 ? `v${i}` : i]));
    const row = await tracker.startRun({ experiment: 'it-client', runName: 'row', tags: { 'unigrad.role': 'row' }, params });
    const child = await tracker.startRun({ experiment: 'it-client', runName: 'pretrain', parent: row, tags: { 'unigrad.role': 'pretrain' } });
    for (let s = 0; s < 700; s++) child.logMetrics(s, { loss: 2 / (s + 1), lr: 0.1 * (1 - s / 700) }); // 1400 values
    const file = join(work, 'metrics.csv');
    writeFileSync(file, 'step,loss\n0,2\n1,1\n');
    child.logArtifact(file, 'logs/metrics.csv');
    child.logDataset({ name: 'fashion-mnist-train', digest: 'abcdef0123456789', sourceType: 'local', source: '{"path":"data/fashion-mnist"}', context: 'training' });
    await child.end('FINISHED');
    await row.end('FINISHED');

    const r = await client.getRun(row.remoteId!);
    expect(r.info.status).toBe('FINISHED');
    expect(r.data.params).toHaveLength(150);
    expect(Object.fromEntries(r.data.params!.map((p) => [p.key, p.value]))['cfg.p4']).toBe('4');
    const tags = Object.fromEntries(r.data.tags!.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'mlflow.runName': 'row', 'mlflow.user': 'ci', 'mlflow.source.git.commit': '0123456789abcdef', 'unigrad.role': 'row' });

    const c = await client.getRun(child.remoteId!);
    expect(Object.fromEntries(c.data.tags!.map((t) => [t.key, t.value]))['mlflow.parentRunId']).toBe(row.remoteId);
    expect(c.info.end_time).toBeGreaterThan(0);
    const loss = await client.getMetricHistory(child.remoteId!, 'loss');
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: 700 }, (_, s) => s));
    expect(loss[9].value).toBeCloseTo(0.2, 12);
    expect((await client.getMetricHistory(child.remoteId!, 'lr')).length).toBe(700);
    const bytes = await client.downloadArtifact(c.info.artifact_uri, 'logs/metrics.csv');
    expect(Buffer.from(bytes).toString()).toBe('step,loss\n0,2\n1,1\n');
    const inputs = (c as unknown as { inputs?: { dataset_inputs?: Array<{ dataset: { name: string; digest: string } }> } }).inputs;
    expect(inputs?.dataset_inputs?.[0].dataset).toMatchObject({ name: 'fashion-mnist-train', digest: 'abcdef0123456789' });
  });

  it('delivers every metric logged while the server was stopped, once it is back', async () => {
    const logs: string[] = [];
    const tracker = createTracker({
      storeDir: join(work, 'store-b'), trackingUri: server.url, systemTags: SYSTEM,
      baseDelayMs: 200, maxDelayMs: 1000, flushTimeoutMs: 120_000, requestTimeoutMs: 15_000, log: (m) => logs.push(m),
    });
    const run = await tracker.startRun({ experiment: 'it-outage', runName: 'outage' });
    for (let s = 0; s < 300; s++) run.logMetrics(s, { loss: s });
    expect(await run.flush()).toBe(true);
    await server.stop();
    for (let s = 300; s < 1300; s++) run.logMetrics(s, { loss: s }); // triggers delivery attempts that fail
    expect(await tracker.flush(500)).toBe(false);
    await server.start();
    await run.end('FINISHED');
    expect(logs.some((l) => /unreachable or failing/.test(l))).toBe(true);
    const history = await client.getMetricHistory(run.remoteId!, 'loss');
    expect(history.map((m) => m.step)).toEqual(Array.from({ length: 1300 }, (_, s) => s));
    expect((await client.getRun(run.remoteId!)).info.status).toBe('FINISHED');
  });

  it('mlflow:sync pushes the embedded store into the server, idempotently, and the table reads the same from both', async () => {
    const storeDir = join(work, 'store-embedded');
    const tracker = createTracker({ storeDir, trackingUri: '', systemTags: SYSTEM });
    const tags = { 'unigrad.method': 'simclr', 'unigrad.variant': 'grad-mm', 'unigrad.preset': 'it', 'unigrad.seed': '1' };
    const row = await tracker.startRun({ experiment: 'it-sync', runName: 'simclr-grad-mm-s1', tags: { ...tags, 'unigrad.role': 'row' }, params: { epochs: 2 } });
    const pre = await tracker.startRun({ experiment: 'it-sync', runName: 'pretrain', parent: row, tags: { ...tags, 'unigrad.role': 'pretrain' } });
    for (let s = 0; s < 50; s++) pre.logMetrics(s, { loss: 5 - s / 10 });
    await pre.end();
    const probe = await tracker.startRun({ experiment: 'it-sync', runName: 'probe', parent: row, tags: { ...tags, 'unigrad.role': 'probe', 'unigrad.probe': 'linear' } });
    probe.logMetrics(0, { probe_top1: 0.7, probe_top5: 0.95, probe_final_top1: 0.69 });
    await probe.end();
    await row.end();

    const s1 = await syncStore({ storeDir, trackingUri: server.url });
    expect(Object.keys(s1.mapping)).toHaveLength(3);
    // The experiment's page, in the model-training view, at the id the server gave it.
    const exp = await new MlflowClient({ trackingUri: server.url }).getExperimentByName('it-sync');
    expect(s1.experimentUrls).toEqual({ 'it-sync': `${server.url}/#/experiments/${exp!.experiment_id}?workflowType=machine_learning` });
    const s2 = await syncStore({ storeDir, trackingUri: server.url });
    expect(s2.requests).toBe(0);
    expect(s2.experimentUrls).toEqual(s1.experimentUrls); // an up-to-date sync prints the links too
    expect(s2.mapping).toEqual(s1.mapping);

    const remote = await listRuns({ source: 'mlflow', trackingUri: server.url, experiments: ['it-sync'], withHistory: true });
    expect(remote).toHaveLength(3);
    const remotePre = remote.find((r) => r.id === s1.mapping[pre.id])!;
    expect(remotePre.metricHistory!.loss).toHaveLength(50);
    expect(remotePre.parentId).toBe(s1.mapping[row.id]);

    const paper = readPaperResults(join(__dirname, '..', '..', '..', 'configs', 'paper-results.csv'));
    const fromServer = buildResultsTable(remote, paper);
    const fromStore = buildResultsTable(await listRuns({ source: 'embedded', storeDir }), paper);
    const strip = (csv: string, mapping: Record<string, string>) => Object.entries(mapping).reduce((t, [l, r]) => t.split(r).join(l), csv);
    expect(strip(renderCsv(fromServer), s1.mapping)).toBe(renderCsv(fromStore));
    expect(fromStore.presets[0].rows.find((r) => r.method === 'simclr')!.cells['grad-mm'].mean).toBeCloseTo(70, 10);
  });
});
