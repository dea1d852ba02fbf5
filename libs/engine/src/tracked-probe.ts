// A probe as a tracked run: the child "probe" run of a table row, with the probe's accuracies as metrics.
import { flattenConfig, type PretrainConfig } from '@unigrad/configs';
import type { Network } from '@unigrad/models';
import type { RunHandle, Tracker } from '@unigrad/tracking';
import { runTags } from './tracked-pretrain';
import { probeLabel, probeTrunk, type ProbeReport } from './probe';

export interface TrackedProbeOptions {
  tracker: Tracker;
  parent?: RunHandle;
  tags?: Record<string, string>;
  /** What was probed (e.g. the checkpoint path, or "raw pixels"). */
  source: string;
  log?: boolean;
}

/** Metric names the results table reads (fractions in [0, 1]): probe_top1 / probe_top5, plus the protocol's extras. */
export function probeMetrics(report: ProbeReport): Record<string, number> {
  const extras = Object.fromEntries(Object.entries(report.metrics).filter(([, v]) => Number.isFinite(v)));
  return { probe_top1: report.top1, probe_top5: report.top5, ...extras };
}

export async function trackedProbe(trunk: Network, config: PretrainConfig, options: TrackedProbeOptions): Promise<{ result: ProbeReport; runId: string }> {
  const run = await options.tracker.startRun({
    experiment: `unigrad-${config.preset}`,
    runName: `probe ${probeLabel(config)} ${options.source}`,
    parent: options.parent,
    tags: { ...runTags(config), 'unigrad.role': 'probe', 'unigrad.probe': probeLabel(config), ...options.tags },
    params: { ...flattenConfig(config.probe, 'probe'), source: options.source },
  });
  try {
    const result = await probeTrunk(trunk, config, options.log ?? true);
    for (const [x, metrics] of result.series) run.logMetrics(x, metrics);
    run.logMetrics(result.series.at(-1)?.[0] ?? 0, probeMetrics(result));
    await run.end('FINISHED');
    return { result, runId: run.id };
  } catch (err) {
    await run.end('FAILED');
    throw err;
  }
}
