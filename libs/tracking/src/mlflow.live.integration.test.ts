// Run lifecycle against a real `mlflow server` (from `npm run mlflow:setup`): several cells through one tracker
// (issue 19 item 8), metrics visible while a run is still going (item 2), a SIGKILLed process's runs marked
// KILLED (no RUNNING forever), and `npm run mlflow:sync` of the committed store (item 7). Skips without the venv.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_REASON_TAG, OWNER_TAGS } from './dead-runs';
import { LOCAL_RUN_ID_TAG } from './delivery';
import { MODEL_TAGS } from './model-registry';
import { MlflowClient, type MlflowRun } from './mlflow-client';
import { mlflowVenvBin, startMlflowServer, type MlflowServer } from './mlflow-server';
import { RunStore } from './store';
import { createTracker } from './tracker';

const venv = mlflowVenvBin();
if (!venv) console.warn('SKIPPED mlflow lifecycle integration tests: no .venv/mlflow. Run `npm run mlflow:setup` (CI does) to enable them.');
const SYSTEM = { 'mlflow.user': 'ci', 'mlflow.source.name': 'libs/tracking/src/mlflow.live.integration.test.ts' };
const ROOT = join(__dirname, '..', '..', '..');

function tags(run: MlflowRun): Record<string, string> {
  return Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
}

/** Keeps the event loop busy, like a training step that never yields. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe.skipIf(!venv)('real MLflow server: runs over their whole life', () => {
  let server: MlflowServer;
  let client: MlflowClient;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mlflow-live-'));
    server = await startMlflowServer({ dir: join(work, 'server') });
    client = new MlflowClient({ trackingUri: server.url });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function runsOf(experiment: string): Promise<MlflowRun[]> {
    const exp = await client.getExperimentByName(experiment);
    return exp ? client.searchRuns([exp.experiment_id]) : [];
  }

  it('puts every run of every cell on the server when cells run in sequence through one tracker (as reproduce does)', async () => {
    const logs: string[] = [];
    const storeDir = join(work, 'store-cells');
    const tracker = createTracker({ storeDir, trackingUri: server.url, systemTags: SYSTEM, log: (m) => logs.push(m) });
    const expected = new Map<string, { name: string; parent?: string; steps: number }>();
    for (const cell of ['simclr', 'unigrad', 'byol']) {
      const row = await tracker.startRun({ experiment: 'it-cells', runName: `${cell}:grad-mm seed 42`, tags: { 'unigrad.role': 'row' } });
      const pre = await tracker.startRun({ experiment: 'it-cells', runName: `pretrain ${cell}`, parent: row, tags: { 'unigrad.role': 'pretrain' } });
      for (let s = 1; s <= 5; s++) pre.logMetrics(s, { loss: 1 / s });
      const cfg = join(work, `${cell}-config.json`);
      writeFileSync(cfg, JSON.stringify({ method: cell }));
      pre.logArtifact(cfg, 'config.json');
      await pre.end('FINISHED');
      // The probe trains without yielding for longer than the server keeps an idle connection open (5 s).
      const probe = await tracker.startRun({ experiment: 'it-cells', runName: `probe ${cell}`, parent: row, tags: { 'unigrad.role': 'probe' } });
      blockEventLoop(cell === 'simclr' ? 6000 : 100);
      probe.logMetrics(0, { probe_top1: 0.74 });
      await probe.end('FINISHED');
      row.logMetrics(0, { probe_top1: 0.74 });
      await row.end('FINISHED');
      expect(await tracker.flush()).toBe(true); // reproduce flushes after each cell, with nothing left to send
      expected.set(row.id, { name: `${cell}:grad-mm seed 42`, steps: 1 });
      expected.set(pre.id, { name: `pretrain ${cell}`, parent: row.id, steps: 5 });
      expected.set(probe.id, { name: `probe ${cell}`, parent: row.id, steps: 1 });
    }
    expect(logs).toEqual([]); // a healthy server: no outage was reported, nothing was "delivered later"

    const remote = await runsOf('it-cells');
    expect(remote).toHaveLength(9);
    const byLocal = new Map(remote.map((r) => [tags(r)[LOCAL_RUN_ID_TAG], r]));
    for (const [id, want] of expected) {
      const r = byLocal.get(id);
      expect(r, want.name).toBeDefined();
      expect(r!.info.run_name).toBe(want.name);
      expect(r!.info.status).toBe('FINISHED');
      expect(Number(r!.info.end_time)).toBeGreaterThan(0);
      if (want.parent) expect(tags(r!)['mlflow.parentRunId']).toBe(byLocal.get(want.parent)!.info.run_id);
      const key = r!.data.metrics?.[0]?.key;
      expect(key).toBeDefined();
      expect((await client.getMetricHistory(r!.info.run_id, key!)).length).toBe(want.steps);
      if (want.name.startsWith('pretrain')) {
        const bytes = await client.downloadArtifact(r!.info.artifact_uri, 'config.json');
        expect(JSON.parse(Buffer.from(bytes).toString()).method).toBe(want.name.split(' ')[1]);
      }
    }
  });

  it('delivers metrics in the background: polled mid-run, the server already holds them', async () => {
    const tracker = createTracker({ storeDir: join(work, 'store-live'), trackingUri: server.url, systemTags: SYSTEM, flushIntervalMs: 300 });
    const run = await tracker.startRun({ experiment: 'it-live', runName: 'live' });
    let step = 0;
    let stop = false;
    // A training loop: some synchronous work per step, then a yield to the event loop (as the engine does).
    const training = (async () => {
      while (!stop) {
        blockEventLoop(5);
        run.logMetrics(step, { loss: 1 / (step + 1) });
        step++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    let seen = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      seen = (await client.getMetricHistory(run.remoteId!, 'loss')).length;
      if (seen >= 20) break;
    }
    const loggedWhenSeen = step;
    stop = true;
    await training;
    expect(run.ended).toBe(false); // still running when the server showed its curve
    expect(seen).toBeGreaterThanOrEqual(20);
    expect(seen).toBeLessThanOrEqual(loggedWhenSeen);
    await run.end();
    expect((await client.getMetricHistory(run.remoteId!, 'loss')).map((m) => m.step)).toEqual(Array.from({ length: step }, (_, s) => s));
  });

  it('marks the runs of a SIGKILLed process KILLED, in the store and on the server, when the next tracker starts', async () => {
    const storeDir = join(work, 'store-killed');
    const script = join(work, 'victim.ts');
    writeFileSync(
      script,
      `import { createTracker } from ${JSON.stringify(join(__dirname, 'tracker').replace(/\\/g, '/'))};
async function main() {
  const t = createTracker({ storeDir: ${JSON.stringify(storeDir)}, trackingUri: ${JSON.stringify(server.url)}, systemTags: {}, flushIntervalMs: 200 });
  const row = await t.startRun({ experiment: 'it-killed', runName: 'row' });
  const pre = await t.startRun({ experiment: 'it-killed', runName: 'pretrain', parent: row });
  let step = 0;
  pre.logMetrics(step++, { loss: 1 });
  await t.flush();
  console.log('READY ' + row.id + ' ' + pre.id);
  setInterval(() => pre.logMetrics(step++, { loss: 1 / step }), 20);
}
void main();
`,
    );
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const ids = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /READY (\w+) (\w+)/.exec(out);
        if (m) resolve([m[1], m[2]]);
      });
      child.once('exit', (code) => reject(new Error(`victim exited early with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 300));
    const store = new RunStore(storeDir);
    expect(store.readRun(ids[1]).tags[OWNER_TAGS.pid]).toBe(String(child.pid));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect((await runsOf('it-killed')).map((r) => r.info.status)).toEqual(['RUNNING', 'RUNNING']); // nobody ended them

    const logs: string[] = [];
    const next = createTracker({ storeDir, trackingUri: server.url, systemTags: SYSTEM, log: (m) => logs.push(m) });
    expect(ids.map((id) => store.readRun(id).status)).toEqual(['KILLED', 'KILLED']);
    expect(logs.filter((l) => /was still RUNNING/.test(l))).toHaveLength(2);
    expect(await next.flush()).toBe(true);
    const remote = await runsOf('it-killed');
    expect(remote.map((r) => r.info.status)).toEqual(['KILLED', 'KILLED']);
    for (const r of remote) {
      expect(Number(r.info.end_time)).toBeGreaterThanOrEqual(Number(r.info.start_time));
      expect(tags(r)[END_REASON_TAG]).toMatch(new RegExp(`process ${child.pid} on .* ended without ending the run`));
    }
    // Every metric the victim wrote before it died is on the server too.
    const pre = remote.find((r) => r.info.run_name === 'pretrain')!;
    const local = store.readRun(ids[1], true).metricHistory!.loss.length;
    expect((await client.getMetricHistory(pre.info.run_id, 'loss')).length).toBe(local);
  });

  // What a fresh clone has, bounded: the committed store grows with every table sitting and one sync sends each
  // run's whole history, so the test syncs a fixed sample of it, the seed-42 runs (every cell and baseline of every
  // committed table, with their pretrain and probe runs; no later sitting adds to it), plus every non-run file.
  const committedFiles = execFileSync('git', ['ls-files', 'tracking-store'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const runIdsAtSeed42 = new Set(new RunStore(join(ROOT, 'tracking-store')).listRuns().filter((run) => run.tags['unigrad.seed'] === '42').map((run) => run.id));
  const runIdOf = (f: string) => /^tracking-store\/(?:runs\/([0-9a-f]{32})\.jsonl|artifacts\/([0-9a-f]{32})\/)/.exec(f)?.slice(1).find(Boolean);
  const sampledFiles = committedFiles.filter((f) => { const id = runIdOf(f); return id === undefined || runIdsAtSeed42.has(id); });
  const syncBudgetMs = 60_000 + 1_500 * runIdsAtSeed42.size;

  it('npm run mlflow:sync loads the committed store (its seed-42 runs): exit 0, per-run progress, no run left RUNNING, warnings only for checkpoints', async () => {
    const storeDir = join(work, 'committed-store');
    expect(runIdsAtSeed42.size).toBeGreaterThan(100);
    for (const f of sampledFiles) {
      const dest = join(storeDir, f.slice('tracking-store/'.length));
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(join(ROOT, f), dest);
    }
    const store = new RunStore(storeDir);
    const local = store.listRuns();
    // Checkpoints are never committed (the old runs' `checkpoint`, the newer runs' logged model `model/encoder.ckpt`).
    const isCheckpoint = (path: string) => path === 'checkpoint' || path.endsWith('.ckpt');
    const checkpoints = store.listRunIds().flatMap((id) => store.readEvents(id)).filter((e) => e.event.e === 'artifact' && isCheckpoint(e.event.artifactPath));
    const sync = () =>
      spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'tools/mlflow-sync.ts', '--store', storeDir, '--tracking-uri', server.url], {
        cwd: ROOT, encoding: 'utf8', timeout: syncBudgetMs, env: { ...process.env, MLFLOW_TRACKING_URI: '' },
      });
    const r = sync();
    expect(r.status, r.stderr).toBe(0);
    const progress = r.stdout.split('\n').filter((l) => /^\[\s*\d+\/\d+\]/.test(l));
    expect(progress).toHaveLength(local.length);
    expect(progress.at(-1)).toMatch(new RegExp(`^\\[${local.length}/${local.length}\\]`));
    const warnings = r.stderr.split('\n').filter((l) => /warning/i.test(l));
    expect(warnings).toHaveLength(checkpoints.length);
    for (const w of warnings) expect(w).toMatch(/artifact '(checkpoint|model\/encoder\.ckpt)' skipped/);
    // The rest of stderr: one line per table cell's encoder registered as a model version (finished row runs that
    // name their registered model), nothing else.
    const rest = r.stderr.replace(/^.*artifact '(checkpoint|model\/encoder\.ckpt)' skipped.*$/gm, '').split('\n').filter((l) => l.trim());
    const registrable = local.filter((run) => run.status === 'FINISHED' && run.tags[MODEL_TAGS.registeredName]);
    expect(rest).toHaveLength(registrable.length);
    for (const line of rest) expect(line).toMatch(/^\[tracking\] registered \S+ version \d+ \(.+\)$/);

    const experiments = [...new Set(local.map((run) => run.experiment))];
    const remote = (await Promise.all(experiments.map((e) => runsOf(e)))).flat();
    expect(remote).toHaveLength(local.length);
    expect(remote.filter((x) => x.info.status === 'RUNNING')).toEqual([]);
    const statusByLocal = new Map(local.map((run) => [run.id, run.status]));
    for (const x of remote) expect(x.info.status).toBe(statusByLocal.get(tags(x)[LOCAL_RUN_ID_TAG]));
    // A pretrain run's small artifacts are there; re-running sends nothing.
    const pre = remote.find((x) => tags(x)['unigrad.role'] === 'pretrain')!;
    const cfg = JSON.parse(Buffer.from(await client.downloadArtifact(pre.info.artifact_uri, 'config.json')).toString());
    expect(cfg.method).toBe(tags(pre)['unigrad.method'] === 'unigrad_cutmix' ? 'unigrad' : tags(pre)['unigrad.method']);
    expect(Buffer.from(await client.downloadArtifact(pre.info.artifact_uri, 'metrics.csv')).toString()).toMatch(/^step,(?:epoch,)?loss,/); // the fmnist-wide runs log the epoch too
    const again = sync();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${local.length} run\\(s\\) checked, 0 updated with 0 request\\(s\\)`));
    expect(existsSync(join(storeDir, 'sync'))).toBe(true);
    expect(readdirSync(join(storeDir, 'sync')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 2 * syncBudgetMs + 60_000);
});
