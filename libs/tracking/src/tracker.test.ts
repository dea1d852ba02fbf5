import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, readSyncState, withRetry } from './delivery';
import { MlflowHttpError } from './mlflow-client';
import { RunStore } from './store';
import { syncStore } from './sync';
import { FakeMlflow } from './testing/fake-mlflow';
import { createTracker } from './tracker';
import { ownerTags } from './dead-runs';

const SYSTEM = { 'mlflow.user': 'tester', 'mlflow.source.name': 'test.ts' };
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tracking-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('embedded store', () => {
  it('appends events and reads back params, tags, latest metrics and histories', async () => {
    const dir = tmp();
    const tracker = createTracker({ storeDir: dir, trackingUri: '', systemTags: SYSTEM });
    expect(tracker.kind).toBe('embedded');
    const parent = await tracker.startRun({ experiment: 'e', runName: 'row', tags: { 'unigrad.role': 'row' }, params: { lr: 0.1, bn: true } });
    const child = await tracker.startRun({ experiment: 'e', runName: 'probe', parent });
    child.logMetrics(0, { loss: 2, acc: 0.1 });
    child.logMetrics(1, { loss: 1.5, nan: NaN });
    child.logMetrics(2, { loss: 1 });
    child.setTags({ note: 'x' });
    writeFileSync(join(dir, 'cfg.json'), '{"a":1}');
    child.logArtifact(join(dir, 'cfg.json'), 'config/resolved.json');
    writeFileSync(join(dir, 'cfg.json'), 'changed later'); // the store keeps the copy taken at log time
    child.logDataset({ name: 'fmnist', digest: 'abc123', sourceType: 'local', source: '{"path":"/x"}', context: 'training' });
    await child.end('FINISHED');
    await parent.end('FINISHED');

    const store = new RunStore(dir);
    const runs = store.listRuns(true);
    const c = runs.find((r) => r.id === child.id)!;
    const p = runs.find((r) => r.id === parent.id)!;
    expect(p.params).toEqual({ lr: '0.1', bn: 'true' });
    expect(p.tags['mlflow.runName']).toBe('row');
    expect(p.tags['mlflow.user']).toBe('tester');
    expect(c.parentId).toBe(parent.id);
    expect(c.status).toBe('FINISHED');
    expect(c.endTime).toBeGreaterThan(0);
    expect(c.metrics.loss).toBe(1);
    expect(c.metrics.acc).toBe(0.1);
    expect(Number.isNaN(c.metrics.nan)).toBe(true);
    expect(c.metricHistory!.loss.map((m) => [m.step, m.value])).toEqual([[0, 2], [1, 1.5], [2, 1]]);
    expect(c.tags.note).toBe('x');
    expect(readFileSync(join(store.artifactDir(child.id), 'config', 'resolved.json'), 'utf8')).toBe('{"a":1}');
  });

  it('skips a torn last line (a crash mid-write) but rejects damage in the middle', async () => {
    const dir = tmp();
    const tracker = createTracker({ storeDir: dir, trackingUri: '', systemTags: SYSTEM });
    const run = await tracker.startRun({ experiment: 'e', runName: 'r' });
    run.logMetrics(0, { a: 1 });
    const store = new RunStore(dir);
    appendFileSync(store.runFile(run.id), '{"e":"metrics","metr');
    expect(store.readRun(run.id).metrics).toEqual({ a: 1 });
    appendFileSync(store.runFile(run.id), '\n{"e":"tags","tags":[]}\n');
    expect(() => store.readRun(run.id)).toThrow(/line 3 is not valid JSON/);
  });

  it('gives clear errors for bad input', async () => {
    const tracker = createTracker({ storeDir: tmp(), trackingUri: '', systemTags: SYSTEM });
    const run = await tracker.startRun({ experiment: 'e', runName: 'r', params: { lr: 0.1 } });
    expect(() => run.logParams({ lr: 0.2 })).toThrow(/already logged as '0.1'/);
    run.logParams({ lr: 0.1 }); // the same value again is fine
    expect(() => run.logMetrics(-1, { a: 1 })).toThrow(/non-negative integers/);
    expect(() => run.logMetrics(0, { 'bad!key': 1 })).toThrow(/characters MLflow rejects/);
    expect(() => run.logParams({ big: 'x'.repeat(6001) })).toThrow(/Log it as an artifact/);
    expect(() => run.logArtifact('/no/such/file')).toThrow(/is not a file/);
    await run.end();
    expect(() => run.logMetrics(1, { a: 1 })).toThrow(/after end/);
  });
});

describe('retry and backoff', () => {
  it('doubles the delay up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffDelay(a, 500, 4000))).toEqual([500, 1000, 2000, 4000, 4000]);
  });

  it('retries network errors and 5xx, stops at 4xx and at the deadline', async () => {
    let t = 0;
    const slept: number[] = [];
    const opts = { baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 2000, now: () => t, sleep: async (ms: number) => void (slept.push(ms), (t += ms)) };
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        if (calls === 1) throw new TypeError('fetch failed');
        if (calls === 2) throw new MlflowHttpError('POST', 'u', 503, undefined, '');
        return 'ok';
      }, opts),
    ).resolves.toBe('ok');
    expect(slept).toEqual([100, 200]);

    let clientErrorCalls = 0;
    await expect(
      withRetry(async () => {
        clientErrorCalls++;
        throw new MlflowHttpError('POST', 'u', 400, 'INVALID_PARAMETER_VALUE', '');
      }, opts),
    ).rejects.toThrow(/HTTP 400/);
    expect(clientErrorCalls).toBe(1); // a 4xx is not retried: one call, no sleep
    expect(slept).toEqual([100, 200]);

    t = 0;
    slept.length = 0;
    let networkCalls = 0;
    await expect(
      withRetry(async () => {
        networkCalls++;
        throw new TypeError('fetch failed');
      }, opts),
    ).rejects.toThrow('fetch failed');
    // Doubling from 100 ms: 100 + 200 + 400 + 800 = 1500 ms; the next delay (capped at 1000) would end past the
    // 2000 ms deadline, so it gives up after the fifth call instead of sleeping again.
    expect(slept).toEqual([100, 200, 400, 800]);
    expect(networkCalls).toBe(5);
  });
});

describe('REST tracker with spool (fake server)', () => {
  it('keeps logging while the server is down and delivers every metric exactly once when it returns', async () => {
    const dir = tmp();
    const fake = new FakeMlflow();
    const logs: string[] = [];
    const tracker = createTracker({
      storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM,
      baseDelayMs: 1, maxDelayMs: 5, flushTimeoutMs: 10_000, log: (m) => logs.push(m),
    });
    expect(tracker.kind).toBe('mlflow');
    const run = await tracker.startRun({ experiment: 'exp', runName: 'r', params: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i])) });
    expect(run.remoteId).toMatch(/^remote/);
    for (let s = 0; s < 600; s++) run.logMetrics(s, { loss: 1 / (s + 1), acc: s / 600 }); // 1200 values
    fake.down = true;
    for (let s = 600; s < 1200; s++) run.logMetrics(s, { loss: 1 / (s + 1), acc: s / 600 });
    expect(await tracker.flush(30)).toBe(false); // training goes on; nothing thrown
    expect(logs.some((l) => /unreachable/.test(l))).toBe(true);
    fake.down = false;
    fake.fail503 = 2; // and a flaky comeback
    await run.end('FINISHED');
    const remote = fake.runs.get(run.remoteId!)!;
    expect(remote.info.status).toBe('FINISHED');
    expect(remote.params.size).toBe(150);
    expect(remote.metricsReceived.length).toBe(2400); // no loss, no duplicates
    expect(new Set(remote.metricsReceived.map((m) => `${m.key}@${m.step}`)).size).toBe(2400);
    expect(remote.tags.get('mlflow.runName')).toBe('r');
  });

  it('resumes a half-delivered batch from the recorded cursor without re-sending', async () => {
    const dir = tmp();
    const fake = new FakeMlflow();
    const tracker = createTracker({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM, baseDelayMs: 1, maxDelayMs: 2, batchSize: 1e9 });
    const run = await tracker.startRun({ experiment: 'exp', runName: 'r' });
    for (let s = 0; s < 2500; s++) run.logMetrics(s, { x: s });
    fake.failLogBatchAt = 2; // the second of three requests fails once
    await run.end();
    const remote = fake.runs.get(run.remoteId!)!;
    expect(remote.metricsReceived.map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, s) => s));
    const st = readSyncState(new RunStore(dir), run.id)['http://fake:5000'];
    expect(st.rejected).toEqual([]);
  });

  it('a later tracker delivers what an earlier process left in the spool', async () => {
    const dir = tmp();
    const fake = new FakeMlflow();
    fake.down = true;
    const first = createTracker({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM, baseDelayMs: 1, maxDelayMs: 2, flushTimeoutMs: 10, log: () => {} });
    const run = await first.startRun({ experiment: 'exp', runName: 'offline' });
    run.logMetrics(0, { a: 1 });
    await run.end('FINISHED');
    expect(fake.runs.size).toBe(0);
    fake.down = false;
    const second = createTracker({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM });
    const other = await second.startRun({ experiment: 'exp', runName: 'next' });
    await other.end();
    const names = [...fake.runs.values()].map((r) => `${r.info.run_name}:${r.info.status}:${r.metricsReceived.length}`).sort();
    expect(names).toEqual(['next:FINISHED:0', 'offline:FINISHED:1']);
  });
});

describe('delivery after an idle flush (issue 19, item 8)', () => {
  it('delivers every run of every cell when the tracker is flushed with nothing pending between cells', async () => {
    const fake = new FakeMlflow();
    const tracker = createTracker({ storeDir: tmp(), trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM });
    const ids: string[] = [];
    for (const cell of ['a', 'b', 'c']) {
      const row = await tracker.startRun({ experiment: 'exp', runName: `row ${cell}` });
      const pre = await tracker.startRun({ experiment: 'exp', runName: `pretrain ${cell}`, parent: row });
      pre.logMetrics(0, { loss: 1 });
      await pre.end();
      await row.end();
      expect(await tracker.flush()).toBe(true); // nothing pending: the pass settles at once
      expect(await tracker.flush()).toBe(true);
      ids.push(row.id, pre.id);
    }
    const remote = [...fake.runs.values()];
    expect(remote.map((r) => `${r.info.run_name}:${r.info.status}`).sort()).toEqual(
      ['pretrain a', 'pretrain b', 'pretrain c', 'row a', 'row b', 'row c'].map((n) => `${n}:FINISHED`),
    );
    expect(new Set(remote.map((r) => r.tags.get('unigrad.local_run_id')))).toEqual(new Set(ids));
  });

  it('sends a request once more when it died on a stale keep-alive connection, but never runs/create', async () => {
    const fake = new FakeMlflow();
    let staleOn: string | undefined; // the next request to this endpoint meets a connection the server had closed
    const fetch: typeof fake.fetch = async (input, init) => {
      if (staleOn && input.includes(staleOn)) {
        staleOn = undefined;
        throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
      }
      return fake.fetch(input, init);
    };
    const logs: string[] = [];
    const tracker = createTracker({
      storeDir: tmp(), trackingUri: 'http://fake:5000', fetch, systemTags: SYSTEM, baseDelayMs: 1, maxDelayMs: 2, log: (m) => logs.push(m),
    });
    const run = await tracker.startRun({ experiment: 'exp', runName: 'r' });
    run.logMetrics(0, { loss: 1 });
    staleOn = 'runs/log-batch';
    await run.end();
    expect(staleOn).toBeUndefined();
    expect(logs).toEqual([]); // no outage reported: the re-send went through
    expect(fake.runs.get(run.remoteId!)!.info.status).toBe('FINISHED');
    expect(fake.runs.get(run.remoteId!)!.metricsReceived).toHaveLength(1);

    // runs/create is not re-sent (a second copy of the run); the next pass looks the run up by its tag first.
    staleOn = 'runs/create';
    const second = await tracker.startRun({ experiment: 'exp', runName: 'second' });
    await second.end();
    expect(logs.some((l) => /unreachable/.test(l))).toBe(true);
    expect(logs.at(-1)).toMatch(/reachable again; the server confirmed every event/);
    expect([...fake.runs.values()].filter((r) => r.info.run_name === 'second').map((r) => r.info.status)).toEqual(['FINISHED']);
  });
});

describe('resumeRun', () => {
  it('continues the same run, local and remote, without duplicate steps; refuses a run a live process owns', async () => {
    const dir = tmp();
    const fake = new FakeMlflow();
    const opts = { storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: SYSTEM };
    const first = createTracker(opts);
    const run = await first.startRun({ experiment: 'exp', runName: 'pretrain', params: { lr: 0.1 } });
    for (let s = 0; s < 10; s++) run.logMetrics(s, { loss: 10 - s });
    run.endNow('KILLED'); // as the signal handler leaves it
    expect(await first.flush()).toBe(true);
    const remoteId = run.remoteId;

    const second = createTracker(opts);
    const again = await second.resumeRun(run.id, { tags: { 'unigrad.resumed_from_step': '5' } });
    expect(again.id).toBe(run.id);
    expect(again.remoteId).toBe(remoteId);
    expect(again.status).toBe('RUNNING');
    again.logParams({ lr: 0.1 }); // the same value again is fine
    expect(() => again.logParams({ lr: 0.2 })).toThrow(/already logged as '0.1'/);
    for (let s = 5; s < 15; s++) again.logMetrics(s, { loss: 10 - s }); // replays 5..9 from the checkpoint
    expect(new RunStore(dir).readRun(run.id).status).toBe('RUNNING');
    await again.end('FINISHED');

    const local = new RunStore(dir).readRun(run.id, true);
    expect(local.status).toBe('FINISHED');
    expect(local.metricHistory!.loss.map((m) => m.step)).toEqual(Array.from({ length: 15 }, (_, s) => s));
    expect(local.tags['unigrad.resumed_from_step']).toBe('5');
    const remote = fake.runs.get(remoteId!)!;
    expect(fake.runs.size).toBe(1);
    expect(remote.info.status).toBe('FINISHED');
    expect(remote.metricsReceived.map((m) => m.step)).toEqual(Array.from({ length: 15 }, (_, s) => s));

    await expect(second.resumeRun('0'.repeat(32))).rejects.toThrow(/no run/);
    await expect(createTracker({ ...opts, trackingUri: '' }).resumeRun(run.id)).rejects.toThrow(/same MLFLOW_TRACKING_URI/);
    // A RUNNING run whose owner is alive (here: our parent process) is not taken over.
    const store = new RunStore(dir);
    const w = store.createRun({
      experiment: 'exp', runName: 'busy', startTime: Date.now(), target: 'http://fake:5000',
      tags: Object.entries(ownerTags(process.ppid)).map(([key, value]) => ({ key, value })),
    });
    w.close();
    await expect(second.resumeRun(w.id)).rejects.toThrow(/still RUNNING in process/);
  });
});

describe('mlflow:sync (fake server)', () => {
  it('replays the embedded store once; re-runs and lost state files create no duplicates', async () => {
    const dir = tmp();
    const tracker = createTracker({ storeDir: dir, trackingUri: '', systemTags: SYSTEM });
    const row = await tracker.startRun({ experiment: 'exp', runName: 'row', tags: { 'unigrad.role': 'row' } });
    const probe = await tracker.startRun({ experiment: 'exp', runName: 'probe', parent: row });
    for (let s = 0; s < 1500; s++) probe.logMetrics(s, { loss: s });
    writeFileSync(join(dir, 'ckpt.bin'), Buffer.from([1, 2, 3]));
    probe.logArtifact(join(dir, 'ckpt.bin'), 'checkpoints/final.bin');
    probe.logDataset({ name: 'fmnist', digest: 'd1', sourceType: 'local', source: '{}', context: 'training' });
    await probe.end('FINISHED');
    await row.end('FINISHED');

    const fake = new FakeMlflow();
    const s1 = await syncStore({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch });
    expect(s1.runs).toBe(2);
    expect(fake.runs.size).toBe(2);
    const remoteProbe = fake.runs.get(s1.mapping[probe.id])!;
    expect(remoteProbe.tags.get('mlflow.parentRunId')).toBe(s1.mapping[row.id]);
    expect(remoteProbe.metricsReceived.length).toBe(1500);
    expect(remoteProbe.info.status).toBe('FINISHED');
    expect(remoteProbe.inputs).toHaveLength(1);
    expect([...fake.artifacts.keys()]).toEqual([`1/${s1.mapping[probe.id]}/artifacts/checkpoints/final.bin`]);

    const before = fake.requests.length;
    const s2 = await syncStore({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch });
    expect(s2.requests).toBe(0);
    expect(s2.mapping).toEqual(s1.mapping);
    // The recorded cursors say everything is there: nothing is sent, only the experiment's id is read for its link.
    expect(fake.requests.slice(before)).toEqual(['GET /api/2.0/mlflow/experiments/get-by-name']);
    expect(Object.keys(s2.experimentUrls)).toHaveLength(1);
    // Lost state: the runs are found again by their local-id tag instead of being created twice.
    rmSync(join(dir, 'sync'), { recursive: true });
    const s3 = await syncStore({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch });
    expect(s3.mapping).toEqual(s1.mapping);
    expect(fake.runs.size).toBe(2);
  });
});
