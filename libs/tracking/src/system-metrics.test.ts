import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listRuns } from './list-runs';
import { SYSTEM_METRICS, logSystemMetrics } from './system-metrics';
import { createTracker } from './tracker';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('system metrics', () => {
  it("are sampled under MLflow's system/… names until the run ends, on a timer that does not hold the process", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sysmetrics-'));
    dirs.push(dir);
    const tracker = createTracker({ storeDir: dir, trackingUri: '', systemTags: {} });
    const run = await tracker.startRun({ experiment: 'sys', runName: 'sys' });
    const stop = logSystemMetrics(run, { intervalMs: 30 });
    const busyUntil = Date.now() + 150;
    while (Date.now() < busyUntil) await new Promise((r) => setTimeout(r, 5));
    await run.end('FINISHED');
    await new Promise((r) => setTimeout(r, 60)); // a tick after the end logs nothing (and does not throw)
    stop();
    const [read] = await listRuns({ source: 'embedded', storeDir: dir, withHistory: true });
    const history = read.metricHistory!;
    for (const key of Object.values(SYSTEM_METRICS)) expect(history[key]?.length ?? 0).toBeGreaterThan(0);
    expect(history[SYSTEM_METRICS.memoryMb].length).toBeGreaterThanOrEqual(2);
    expect(history[SYSTEM_METRICS.memoryMb].map((p) => p.step)).toEqual(history[SYSTEM_METRICS.memoryMb].map((_, i) => i));
    const cpu = history[SYSTEM_METRICS.cpu].map((p) => p.value);
    expect(cpu.every((v) => v >= 0 && v <= 100)).toBe(true);
    expect(read.metrics[SYSTEM_METRICS.memoryPercent]).toBeGreaterThan(0);
    expect(read.metrics[SYSTEM_METRICS.processRssMb]).toBeGreaterThan(10);
  });
});
