import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunStore } from './store';

const dir = mkdtempSync(join(tmpdir(), 'hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A child process that opens a parent and a child run, installs the guards, then dies as told.
function runChild(how: 'sigterm' | 'throw' | 'finish'): { status: number | null; store: RunStore } {
  const storeDir = join(dir, how);
  const script = join(dir, `${how}.ts`);
  writeFileSync(
    script,
    `import { createTracker, installRunGuards } from '${join(__dirname, 'index').replace(/\\/g, '/')}';
async function main() {
  const t = createTracker({ storeDir: ${JSON.stringify(storeDir)}, trackingUri: '', systemTags: {} });
  installRunGuards(t, { log: () => {} });
  const row = await t.startRun({ experiment: 'e', runName: 'row' });
  const c = await t.startRun({ experiment: 'e', runName: 'child', parent: row });
  c.logMetrics(0, { loss: 1 });
  if (${JSON.stringify(how)} === 'sigterm') { process.kill(process.pid, 'SIGTERM'); await new Promise((r) => setTimeout(r, 5000)); }
  if (${JSON.stringify(how)} === 'throw') setTimeout(() => { throw new Error('boom'); }, 0);
  if (${JSON.stringify(how)} === 'finish') { await c.end(); await row.end(); }
}
void main();
`,
  );
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', script], {
    cwd: join(__dirname, '..', '..', '..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, store: new RunStore(storeDir) };
}

describe('installRunGuards', () => {
  it('marks open runs KILLED on SIGTERM and FAILED on an uncaught error', () => {
    const killed = runChild('sigterm');
    expect(killed.status).toBe(143);
    expect(killed.store.listRuns().map((r) => r.status)).toEqual(['KILLED', 'KILLED']);
    const failed = runChild('throw');
    expect(failed.status).toBe(1);
    const runs = failed.store.listRuns();
    expect(runs.map((r) => r.status)).toEqual(['FAILED', 'FAILED']);
    expect(runs.every((r) => r.endTime! > 0)).toBe(true);
    const ok = runChild('finish');
    expect(ok.status).toBe(0);
    expect(ok.store.listRuns().map((r) => r.status)).toEqual(['FINISHED', 'FINISHED']);
  });
});
