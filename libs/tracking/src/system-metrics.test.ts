import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const stop = logSystemMetrics(run, { intervalMs: 30 });
    const timer = setIntervalSpy.mock.results.at(-1)?.value as NodeJS.Timeout;
    setIntervalSpy.mockRestore();
    expect(timer.hasRef()).toBe(false); // unref'd: a run that never calls stop() does not keep the process alive
    const busyUntil = Date.now() + 150;
    while (Date.now() < busyUntil) await new Promise((r) => setTimeout(r, 5));
    await run.end('FINISHED');
    const samplesAt = async (): Promise<number> => {
      const [r] = await listRuns({ source: 'embedded', storeDir: dir, withHistory: true });
      return r.metricHistory![SYSTEM_METRICS.memoryMb].length;
    };
    const atEnd = await samplesAt();
    await new Promise((r) => setTimeout(r, 100)); // ≥ 3 ticks after the end: none logs (and none throws)
    expect(await samplesAt()).toBe(atEnd);
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
