// One table cell for one seed: a parent "row" run with the pretraining and probe runs as children.
import type { PretrainConfig } from '@unigrad/configs';
import { baselineKind, type Experiment } from '@unigrad/experiments';
import { loadCheckpoint } from '@unigrad/models';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrunkFromCheckpoint, pretrainMeta } from './checkpoint';
import type { StopRequest } from './signals';
import { runDir } from './train';
import { baselineTrunk, probeLabel } from './probe';
import { continueOrStartRun, HEADLINE_METRICS, trackedPretrain } from './tracked-pretrain';
import { probeMetrics, probeTags, trackedProbe } from './tracked-probe';
import { MODEL_TAGS, TABLE_METRICS, TABLE_TAGS, type RunHandle, type TrackedRun, type Tracker } from '@unigrad/tracking';

export interface CellOutcome {
  rowRunId: string;
  top1: number;
  top5: number;
  interrupted: boolean;
}

/** Tags that identify a cell in the results table (libs/tracking TABLE_TAGS). */
export function cellTags(experiment: Experiment, config: PretrainConfig): Record<string, string> {
  return {
    [TABLE_TAGS.method]: experiment.row,
    [TABLE_TAGS.variant]: experiment.variant,
    [TABLE_TAGS.preset]: config.preset,
    [TABLE_TAGS.seed]: String(config.seed),
    'unigrad.cell': experiment.id,
  };
}

/** The cell's short, variant-first run label: `simclr grad-mm s42`, `baseline-raw s42`. */
export function cellLabel(experiment: Experiment, config: PretrainConfig): string {
  const method = experiment.row.replace(/_/g, '-');
  return experiment.variant === 'baseline' ? `${method} s${config.seed}` : `${method} ${experiment.variant} s${config.seed}`;
}

/** The registered model of a cell's encoders (one version per seed and run): `unigrad-fmnist-simclr-grad-mm`. */
export function registeredModelName(experiment: Experiment, config: PretrainConfig): string {
  return `unigrad-${config.preset}-${experiment.id.replace(':', '-')}`;
}

/** A cell is complete for (preset, seed) when a finished row run with a probe result exists. */
export function isComplete(runs: TrackedRun[], experiment: Experiment, config: PretrainConfig): boolean {
  const tags = cellTags(experiment, config);
  return runs.some(
    (run) =>
      run.status === 'FINISHED' &&
      run.tags[TABLE_TAGS.role] === 'row' &&
      Object.entries(tags).every(([k, v]) => run.tags[k] === v) &&
      run.metrics[TABLE_METRICS.top1] !== undefined,
  );
}

export interface RunCellOptions {
  log?: boolean;
  /** The app's stop request (signals): an interrupted cell ends KILLED, with its checkpoint kept. */
  stop?: StopRequest;
  /** Start the cell over even when its run directory holds a checkpoint of a different config. */
  force?: boolean;
}

/**
 * How the cell's pretraining starts: from scratch, or — when its run directory holds a checkpoint of exactly this
 * config (an interrupted or preempted earlier attempt) — resumed from it. A checkpoint of another config is an
 * error unless `force` (then it is overwritten).
 */
export function cellStart(config: PretrainConfig, force: boolean): { resume?: string; overwrite: boolean } {
  const checkpoint = join(runDir(config), 'latest.ckpt');
  if (force || !existsSync(checkpoint)) return { overwrite: force };
  const meta = pretrainMeta(loadCheckpoint(checkpoint).meta, checkpoint);
  if (JSON.stringify(meta.config) === JSON.stringify(config)) return { resume: checkpoint, overwrite: false };
  throw new Error(`${checkpoint} is a checkpoint of a different config than this cell's (the code or preset changed since?): rerun with --force to start the cell over`);
}

/** Runs a cell: pretrain → probe (SSL cells) or baseline encoder → probe, all tracked under one row run. */
export async function runCell(experiment: Experiment, config: PretrainConfig, tracker: Tracker, options: RunCellOptions = {}): Promise<CellOutcome> {
  const log = options.log ?? true;
  const tags = cellTags(experiment, config);
  const baseline = baselineKind(experiment.row);
  const start = baseline ? { overwrite: false } : cellStart(config, Boolean(options.force));
  // An interrupted cell continues its own row run (and, in trackedPretrain, its pretraining run).
  const resumedRowId = start.resume ? pretrainMeta(loadCheckpoint(start.resume).meta, start.resume).extra?.trackedParentRunId : undefined;
  const row = await continueOrStartRun(
    tracker,
    resumedRowId,
    {
      experiment: `unigrad-${config.preset}`,
      runName: cellLabel(experiment, config),
      tags: { ...probeTags(config, baseline), ...tags, [TABLE_TAGS.role]: 'row', [TABLE_TAGS.probe]: probeLabel(config), 'mlflow.note.content': experiment.description },
      params: { cell: experiment.id, preset: config.preset, seed: config.seed },
    },
    log,
  );
  let pretrainRun: RunHandle | undefined; // left open by trackedPretrain until the probe's top-1 is on it
  let pretrainSteps = 0;
  try {
    let trunk;
    let source: string;
    if (baseline) {
      trunk = await baselineTrunk(baseline, config, log);
      source = `baseline ${baseline}`;
    } else {
      if (start.resume && log) console.log(`[reproduce] ${experiment.id} seed ${config.seed}: resuming from ${start.resume}`);
      const pretrained = await trackedPretrain(config, { tracker, parent: row, tags, log, stop: options.stop, keepOpen: true, ...start });
      pretrainRun = pretrained.run;
      // The cell's encoder becomes a registered model version (registerCellModels, on mlflow:sync).
      row.setTags({ [MODEL_TAGS.registeredName]: registeredModelName(experiment, config), [MODEL_TAGS.modelRun]: pretrained.runId });
      pretrainSteps = pretrained.steps;
      if (pretrained.interrupted || options.stop?.requested) {
        await pretrainRun.end(pretrained.interrupted ? 'KILLED' : 'FINISHED');
        await row.end('KILLED');
        return { rowRunId: row.id, top1: NaN, top5: NaN, interrupted: true };
      }
      trunk = loadTrunkFromCheckpoint(pretrained.checkpointPath).trunk;
      source = pretrained.checkpointPath;
      if (pretrained.knnTop1 !== null) row.logMetrics(pretrained.steps, { [HEADLINE_METRICS.knnTop1]: pretrained.knnTop1 });
    }
    const { result } = await trackedProbe(trunk, config, { tracker, parent: row, tags, source, log, baseline, label: cellLabel(experiment, config) });
    trunk.dispose();
    // The headline probe accuracy on the pretraining run too, so pretraining runs compare by accuracy.
    if (pretrainRun) {
      pretrainRun.logMetrics(pretrainSteps, { [HEADLINE_METRICS.probeTop1]: result.top1, [TABLE_METRICS.top1]: result.top1 });
      await pretrainRun.end('FINISHED');
    }
    if (options.stop?.requested) {
      await row.end('KILLED');
      return { rowRunId: row.id, top1: NaN, top5: NaN, interrupted: true };
    }
    row.logMetrics(0, probeMetrics(result));
    await row.end('FINISHED');
    return { rowRunId: row.id, top1: result.top1, top5: result.top5, interrupted: false };
  } catch (err) {
    // The pretraining itself finished (its checkpoint is valid); only what followed failed.
    await pretrainRun?.end('FINISHED');
    await row.end('FAILED');
    throw err;
  }
}
