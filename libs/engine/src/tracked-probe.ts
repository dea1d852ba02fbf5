// A probe as a tracked run: the child "probe" run of a table row, with the probe's accuracies as metrics.
import { flattenConfig, type PretrainConfig } from '@unigrad/configs';
import type { ProbeResult } from '@unigrad/eval';
import type { Network } from '@unigrad/models';
import type { RunHandle, Tracker } from '@unigrad/tracking';
import { runTags } from './tracked-pretrain';
import { probeLabel, probeTrunk } from './probe';

export interface TrackedProbeOptions {
  tracker: Tracker;
  parent?: RunHandle;
  tags?: Record<string, string>;
  /** What was probed (e.g. the checkpoint path, or "raw pixels"). */
  source: string;
  log?: boolean;
}

/** Metric names the results table reads (fractions in [0, 1]). */
export function probeMetrics(result: ProbeResult): Record<string, number> {
  return { probe_top1: result.best.top1, probe_top5: result.best.top5, probe_final_top1: result.final.top1, probe_final_top5: result.final.top5, probe_best_epoch: result.best.epoch };
}

export async function trackedProbe(trunk: Network, config: PretrainConfig, options: TrackedProbeOptions): Promise<{ result: ProbeResult; runId: string }> {
  const run = await options.tracker.startRun({
    experiment: `unigrad-${config.preset}`,
    runName: `probe ${probeLabel(config)} ${options.source}`,
    parent: options.parent,
    tags: { ...runTags(config), 'unigrad.role': 'probe', 'unigrad.probe': probeLabel(config), ...options.tags },
    params: { ...flattenConfig(config.probe, 'probe'), source: options.source },
  });
  try {
    const result = await probeTrunk(trunk, config, options.log ?? true);
    for (const evaluation of result.history) run.logMetrics(evaluation.epoch, { top1: evaluation.top1, top5: evaluation.top5 });
    result.trainLoss.forEach((loss, epoch) => run.logMetrics(epoch + 1, { train_loss: loss, lr: result.lr[epoch] }));
    run.logMetrics(config.probe.epochs, probeMetrics(result));
    await run.end('FINISHED');
    return { result, runId: run.id };
  } catch (err) {
    await run.end('FAILED');
    throw err;
  }
}
