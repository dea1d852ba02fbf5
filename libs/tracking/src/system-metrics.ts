// System metrics under MLflow's own names (what mlflow.enable_system_metrics_logging() logs), sampled on an unref'd
// timer while a run is open, so MLflow's UI shows them in its "System metrics" section.
import { cpus, freemem, totalmem } from 'node:os';
import type { RunHandle } from './tracker';

export const SYSTEM_METRICS = {
  cpu: 'system/cpu_utilization_percentage',
  memoryMb: 'system/system_memory_usage_megabytes',
  memoryPercent: 'system/system_memory_usage_percentage',
  /** Not one of MLflow's: this process's resident set size. */
  processRssMb: 'system/process_memory_rss_megabytes',
} as const;

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

const MB = 1024 * 1024;

/** One sample; CPU % is over the time since `previous` (the machine's, all cores: 100 = every core busy). */
export function sampleSystemMetrics(previous: { idle: number; total: number }): { metrics: Record<string, number>; times: { idle: number; total: number } } {
  const times = cpuTimes();
  const dt = times.total - previous.total;
  const used = totalmem() - freemem();
  const metrics: Record<string, number> = {
    [SYSTEM_METRICS.memoryMb]: used / MB,
    [SYSTEM_METRICS.memoryPercent]: (100 * used) / totalmem(),
    [SYSTEM_METRICS.processRssMb]: process.memoryUsage.rss() / MB,
  };
  if (dt > 0) metrics[SYSTEM_METRICS.cpu] = 100 * (1 - (times.idle - previous.idle) / dt);
  return { metrics, times };
}

export interface SystemMetricsOptions {
  /** Sampling interval (default 10 s, as MLflow's). */
  intervalMs?: number;
}

/**
 * Samples system metrics into `run` every `intervalMs` (steps 0, 1, 2, … as MLflow numbers them; a resumed run goes on from its last) until the returned
 * stop() or the run's end. The timer is unref'd (never keeps the process alive) and a failing sample is dropped.
 */
export function logSystemMetrics(run: RunHandle, options: SystemMetricsOptions = {}): () => void {
  let times = cpuTimes();
  // A resumed run continues its steps (resumeRun drops points at steps it already has).
  let step = (run.lastStep(SYSTEM_METRICS.memoryMb) ?? -1) + 1;
  const sample = (): void => {
    if (run.ended) return stop();
    try {
      const s = sampleSystemMetrics(times);
      times = s.times;
      run.logMetrics(step++, s.metrics);
    } catch {
      // a sample is not worth failing training for
    }
  };
  sample(); // memory at the start (CPU needs an interval)
  const timer = setInterval(sample, options.intervalMs ?? 10_000);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
  }
  return stop;
}
