// A probe as a tracked run: the child "probe" run of a table row, with the probe's accuracies as metrics.
import { flattenConfig, type PretrainConfig } from '@unigrad/configs';
import type { Network } from '@unigrad/models';
import { TABLE_METRICS, type RunHandle, type Tracker } from '@unigrad/tracking';
import { datasetInput } from './datasets';
import { runLabel, runTags } from './tracked-pretrain';
import { probeLabel, probeTrunk, type ProbeReport } from './probe';

export interface TrackedProbeOptions {
  tracker: Tracker;
  parent?: RunHandle;
  tags?: Record<string, string>;
  /** What was probed (e.g. the checkpoint path, or "raw pixels"). */
  source: string;
  /** A baseline encoder (no pretraining): tagged `unigrad.form=baseline`, without a target. */
  baseline?: string;
  /** The run's label after "probe " (default runLabel(config), e.g. `simclr grad-mm s42`; baselines `baseline-raw s42`). */
  label?: string;
  log?: boolean;
}

/** A probe metric under the `probe/` namespace (`probe_final_top1` → `probe/final_top1`, `lr` → `probe/lr`). */
export function probeKey(name: string): string {
  return `probe/${name.replace(/^probe_/, '')}`;
}

/**
 * The probe's numbers (fractions in [0, 1]) under `probe/…` (`probe/top1`, `probe/top5`, the protocol's extras),
 * plus the flat names the results table reads (TABLE_METRICS: probe_top1 / probe_top5 / probe_final_top1), which
 * the committed tracking store also uses.
 */
export function probeMetrics(report: ProbeReport): Record<string, number> {
  const extras = Object.entries(report.metrics).filter(([, v]) => Number.isFinite(v));
  const table: Record<string, number> = { [TABLE_METRICS.top1]: report.top1, [TABLE_METRICS.top5]: report.top5 };
  const finalTop1 = report.metrics[TABLE_METRICS.finalTop1];
  if (Number.isFinite(finalTop1)) table[TABLE_METRICS.finalTop1] = finalTop1;
  return { 'probe/top1': report.top1, 'probe/top5': report.top5, ...Object.fromEntries(extras.map(([k, v]) => [probeKey(k), v])), ...table };
}

/** A point of the probe's series under `probe/…` keys. */
export function probeSeriesMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [probeKey(k), v]));
}

/** runTags, except that a baseline encoder is `unigrad.form=baseline` with no target (nothing was pretrained). */
export function probeTags(config: PretrainConfig, baseline?: string): Record<string, string> {
  const tags = runTags(config);
  if (!baseline) return tags;
  delete tags['unigrad.target'];
  return { ...tags, 'unigrad.form': 'baseline', 'unigrad.variant': 'baseline', 'unigrad.method': `baseline_${baseline}`, 'unigrad.baseline': baseline };
}

export async function trackedProbe(trunk: Network, config: PretrainConfig, options: TrackedProbeOptions): Promise<{ result: ProbeReport; runId: string }> {
  const run = await options.tracker.startRun({
    experiment: `unigrad-${config.preset}`,
    runName: `probe ${options.label ?? (options.baseline ? `baseline-${options.baseline} s${config.seed}` : runLabel(config))}`,
    parent: options.parent,
    tags: { ...probeTags(config, options.baseline), 'unigrad.role': 'probe', 'unigrad.probe': probeLabel(config), ...options.tags },
    params: { ...flattenConfig(config.probe, 'probe'), source: options.source },
  });
  try {
    // The probe always trains on the full training split and is evaluated on the test split.
    run.logDataset(await datasetInput({ ...config, data: { ...config.data, subset: undefined } }, 'train', 'training'));
    run.logDataset(await datasetInput(config, 'test', 'evaluation'));
    const result = await probeTrunk(trunk, config, options.log ?? true);
    for (const [x, metrics, at] of result.series) run.logMetrics(x, probeSeriesMetrics(metrics), at);
    run.logMetrics(result.series.at(-1)?.[0] ?? 0, probeMetrics(result));
    await run.end('FINISHED');
    return { result, runId: run.id };
  } catch (err) {
    await run.end('FAILED');
    throw err;
  }
}
