import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { END_REASON_TAG, OWNER_TAGS, ownerState, ownerTags, processStartTicks, reapDeadRuns } from './dead-runs';
import { RunStore } from './store';
import { syncStore } from './sync';
import { FakeMlflow } from './testing/fake-mlflow';
import { createTracker } from './tracker';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'dead-runs-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A run left RUNNING (no status event) with the given owner tags, as a killed process leaves it. */
function orphan(store: RunStore, name: string, tags: Record<string, string>, target?: string): string {
  const w = store.createRun({
    experiment: 'e', runName: name, startTime: Date.now() - 1000, target,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  w.appendMetrics([{ key: 'loss', value: 1, timestamp: Date.now(), step: 0 }]);
  w.close();
  return w.id;
}

/** The pid of a process that has exited (and been reaped by the OS), i.e. no longer exists. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('dead-run check', () => {
  it('records pid, host and process start time for this process', () => {
    const tags = ownerTags();
    expect(tags[OWNER_TAGS.pid]).toBe(String(process.pid));
    expect(tags[OWNER_TAGS.host]).toBe(hostname());
    if (process.platform === 'linux') expect(tags[OWNER_TAGS.processStart]).toMatch(/^\d+$/);
    expect(ownerState(tags)).toBe('alive');
  });

  it('marks RUNNING runs of gone processes on this host KILLED, and leaves the others alone', () => {
    const store = new RunStore(tmp());
    const host = hostname();
    const dead = orphan(store, 'dead', { [OWNER_TAGS.pid]: String(deadPid()), [OWNER_TAGS.host]: host });
    const live = orphan(store, 'live', ownerTags());
    const parentAlive = orphan(store, 'parent process', ownerTags(process.ppid));
    const elsewhere = orphan(store, 'other host', { [OWNER_TAGS.pid]: String(deadPid()), [OWNER_TAGS.host]: `${host}-not-this-one` });
    const untagged = orphan(store, 'from before owner tags', {});
    // The pid exists but belongs to a younger process than the one that started the run: pid reuse.
    const recycled = process.platform === 'linux' ? orphan(store, 'recycled pid', { ...ownerTags(process.ppid), [OWNER_TAGS.processStart]: '1' }) : undefined;
    const finished = orphan(store, 'finished', { [OWNER_TAGS.pid]: String(deadPid()), [OWNER_TAGS.host]: host });
    store.appendEvent(finished, { e: 'status', status: 'FINISHED', endTime: Date.now() });

    const mtime = Math.round(statSync(store.runFile(dead)).mtimeMs);
    const logs: string[] = [];
    const reaped = reapDeadRuns({ store, log: (m) => logs.push(m) });
    expect(reaped.map((r) => r.runName).sort()).toEqual(['dead', ...(recycled ? ['recycled pid'] : [])].sort());
    const d = store.readRun(dead);
    expect(d.status).toBe('KILLED');
    expect(d.endTime).toBe(mtime); // when the dead process last wrote, not when we noticed
    expect(d.tags[END_REASON_TAG]).toMatch(/ended without ending the run/);
    expect(logs.join('\n')).toMatch(/'dead' .* was still RUNNING/);
    for (const id of [live, parentAlive, elsewhere, untagged]) expect(store.readRun(id).status).toBe('RUNNING');
    expect(store.readRun(finished).status).toBe('FINISHED');
    if (recycled) expect(store.readRun(recycled).status).toBe('KILLED');

    expect(reapDeadRuns({ store })).toEqual([]); // nothing twice
    expect(store.readEvents(dead).filter((e) => e.event.e === 'status')).toHaveLength(1);
  });

  it('FAILED instead of KILLED, and only the given runs, when asked', () => {
    const store = new RunStore(tmp());
    const gone = { [OWNER_TAGS.pid]: String(deadPid()), [OWNER_TAGS.host]: hostname() };
    const a = orphan(store, 'a', gone);
    const b = orphan(store, 'b', gone);
    expect(reapDeadRuns({ store, ids: [b], status: 'FAILED' }).map((r) => r.id)).toEqual([b]);
    expect(store.readRun(a).status).toBe('RUNNING');
    expect(store.readRun(b).status).toBe('FAILED');
  });

  it('a new tracker marks them and delivers the status to its server; mlflow:sync does the same for embedded runs', async () => {
    const dir = tmp();
    const store = new RunStore(dir);
    const fake = new FakeMlflow();
    const gone = { [OWNER_TAGS.pid]: String(deadPid()), [OWNER_TAGS.host]: hostname() };
    const spooled = orphan(store, 'spooled', gone, 'http://fake:5000');
    const embedded = orphan(store, 'embedded', gone);
    // Linux (CI) reads field 22 of /proc/<pid>/stat; elsewhere there is no such field and the owner check uses the pid alone.
    if (process.platform === 'linux') expect(processStartTicks(process.pid)).toMatch(/^\d+$/);
    else expect(processStartTicks(process.pid)).toBeUndefined();

    const tracker = createTracker({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch, systemTags: {}, log: () => {} });
    expect(store.readRun(spooled).status).toBe('KILLED');
    expect(store.readRun(embedded).status).toBe('KILLED');
    expect(await tracker.flush()).toBe(true);
    const remote = [...fake.runs.values()];
    expect(remote.map((r) => `${r.info.run_name}:${r.info.status}`)).toEqual(['spooled:KILLED']); // the embedded run is for sync

    const s = await syncStore({ storeDir: dir, trackingUri: 'http://fake:5000', fetch: fake.fetch });
    expect(s.failed).toEqual([]);
    expect([...fake.runs.values()].map((r) => `${r.info.run_name}:${r.info.status}`).sort()).toEqual(['embedded:KILLED', 'spooled:KILLED']);
  });
});
