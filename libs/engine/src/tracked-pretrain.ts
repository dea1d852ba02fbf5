// A pretraining run with tracking and the kNN monitor wired in: what `npm run pretrain` and the table cells
// call. The loop itself (train.ts) knows nothing about MLflow.
import { currentBackend } from '@unigrad/core';
import { flattenConfig, type PretrainConfig } from '@unigrad/configs';
import { logSystemMetrics, MODEL_ARTIFACT_PATH, MODEL_TAGS, type RunHandle, type StartRunOptions, type Tracker } from '@unigrad/tracking';
import { trunkConfigFor } from './setup';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetInput, openDataset } from './datasets';
import { knnMonitor } from './features';
import { loadCheckpoint } from '@unigrad/models';
import { pretrainMeta } from './checkpoint';
import type { StopRequest } from './signals';
import { pretrain, type PretrainResult } from './train';

export interface TrackedPretrainOptions {
  tracker: Tracker;
  /** Parent run (a table row); this run becomes its child. */
  parent?: RunHandle;
  /** Extra tags (e.g. unigrad.method / unigrad.variant of the table cell). */
  tags?: Record<string, string>;
  resume?: string;
  /** Start over in a run directory that already holds a run. */
  overwrite?: boolean;
  /** The app's stop request (signals); see signals.ts. */
  stop?: StopRequest;
  log?: boolean;
  /** System metrics (MLflow's system/… names) every this many ms during pretraining (default 10 s; 0 = none). */
  systemMetricsMs?: number;
  /** Leave the run open (FINISHED by the caller) so the probe's headline accuracy can be logged on it. */
  keepOpen?: boolean;
}

/** The headline accuracies on the pretraining run (fractions), so pretraining runs can be compared by accuracy. */
export const HEADLINE_METRICS = { knnTop1: 'knn/final_top1', probeTop1: 'probe/top1' } as const;

/** The loop's step metrics under MLflow-style namespaced keys (`train/loss`, `train/lr`, …). */
export function trainMetrics(metrics: object): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`train/${k}`, v as number]));
}

export interface TrackedPretrainResult extends PretrainResult {
  runId: string;
  /** The run's handle; still open when `keepOpen` was asked (and the run was not interrupted). */
  run: RunHandle;
  /** Last kNN top-1 (fraction), if the monitor ran. */
  knnTop1: number | null;
}

/** Tags every run carries (spec of issue 7: method / form / target / preset / dataset / backend / seed). */
export function runTags(config: PretrainConfig): Record<string, string> {
  return {
    'unigrad.method': config.cutmix ? 'unigrad_cutmix' : config.method,
    'unigrad.form': config.form,
    'unigrad.target': config.target,
    'unigrad.preset': config.preset,
    'unigrad.dataset': config.data.dataset,
    'unigrad.backend': currentBackend()?.name ?? 'unknown',
    'unigrad.seed': String(config.seed),
    'unigrad.variant': variantOf(config),
  };
}

/**
 * The tracked run a checkpoint belongs to, continued (same run id, no duplicate steps: tracking's resumeRun), or —
 * when it cannot be continued here (another store or server, no id in the checkpoint) — a new run, saying why.
 */
export async function continueOrStartRun(tracker: Tracker, resumeId: unknown, start: StartRunOptions, log = true): Promise<RunHandle> {
  if (typeof resumeId === 'string') {
    try {
      return await tracker.resumeRun(resumeId, { tags: start.tags });
    } catch (err) {
      if (log) console.warn(`[tracking] cannot continue run ${resumeId} (${(err as Error).message}); tracking the rest as a new run`);
    }
  }
  return tracker.startRun(start);
}

/** The variant as the table names it: `original`, `grad-mm` or `grad-no-mm`. */
export function variantOf(config: PretrainConfig): string {
  return config.form === 'original' ? 'original' : `grad-${config.target === 'mm' ? 'mm' : 'no-mm'}`;
}

/** Short, variant-first label of a run: `simclr grad-mm s42` (`unigrad-cutmix grad-mm s7`). */
export function runLabel(config: PretrainConfig): string {
  return `${config.method.replace(/_/g, '-')}${config.cutmix ? '-cutmix' : ''} ${variantOf(config)} s${config.seed}`;
}

/** The checkpoint's file name inside the logged model. */
export const MODEL_CHECKPOINT_FILE = 'encoder.ckpt';

/** An MLmodel-style description (YAML) of the logged encoder: flavour `unigrad`, how to load it, the trunk's config. */
export function mlmodelYaml(config: PretrainConfig, step: number): string {
  const q = (v: unknown) => JSON.stringify(v); // JSON scalars and flow sequences are valid YAML
  const trunk = trunkConfigFor(config) as unknown as Record<string, unknown>;
  return [
    `artifact_path: ${MODEL_ARTIFACT_PATH}`,
    `utc_time_created: ${q(new Date().toISOString())}`,
    'flavors:',
    '  unigrad:',
    `    checkpoint: ${MODEL_CHECKPOINT_FILE}`,
    '    loader_module: "@unigrad/engine"',
    '    loader: loadTrunkFromCheckpoint',
    `    usage: ${q(`const { trunk, config } = loadTrunkFromCheckpoint('${MODEL_CHECKPOINT_FILE}'); // a frozen online trunk (tfjs), e.g. for npm run linear-eval -- --checkpoint ${MODEL_CHECKPOINT_FILE}`)}`,
    `    step: ${step}`,
    `    method: ${q(config.cutmix ? 'unigrad_cutmix' : config.method)}`,
    `    variant: ${q(variantOf(config))}`,
    `    seed: ${config.seed}`,
    '    trunk:',
    ...Object.entries(trunk).map(([k, v]) => `      ${k}: ${q(v)}`),
    '    input:',
    `      dataset: ${q(config.data.dataset)}`,
    `      image_size: ${config.data.imageSize}`,
    `      channels: ${q(trunk.inChannels)}`,
    '',
  ].join('\n');
}

export async function trackedPretrain(requested: PretrainConfig, options: TrackedPretrainOptions): Promise<TrackedPretrainResult> {
  // A resumed run is the checkpoint's run: its config (not the command line's) is what is tracked and monitored,
  // and its tracked run continues (same id) when this store has it.
  const meta = options.resume ? pretrainMeta(loadCheckpoint(options.resume).meta, options.resume) : undefined;
  const config = meta ? meta.config : requested;
  const start: StartRunOptions = {
    experiment: `unigrad-${config.preset}`,
    runName: `pretrain ${config.name ?? runLabel(config)}`,
    parent: options.parent,
    tags: { ...runTags(config), 'unigrad.role': 'pretrain', ...options.tags },
    params: flattenConfig(config),
  };
  const run = await continueOrStartRun(options.tracker, meta?.extra?.trackedRunId, start, options.log ?? true);
  const freshRun = !meta || run.id !== meta.extra?.trackedRunId;

  // A signal finishes the step, checkpoints, and returns with interrupted = true; a crash marks the run FAILED.
  let knnTop1: number | null = null;
  const knnEvery = config.knn.every;
  const systemMs = options.systemMetricsMs ?? 10_000;
  const stopSystemMetrics = systemMs > 0 ? logSystemMetrics(run, { intervalMs: systemMs }) : () => undefined;
  try {
    // Inside the try: a data error after the run was created marks it FAILED.
    const train = await openDataset(config, 'train');
    const test = knnEvery ? await openDataset(config, 'test') : null;
    if (freshRun) {
      run.logDataset(await datasetInput(config, 'train', 'training', train));
      if (test) run.logDataset(await datasetInput(config, 'test', 'evaluation', test));
    }
    const result = await pretrain(config, {
      resume: options.resume,
      overwrite: options.overwrite,
      stop: options.stop,
      checkpointMeta: { trackedRunId: run.id, ...(options.parent ? { trackedParentRunId: options.parent.id } : {}) },
      log: options.log,
      onStep: (step, metrics) => run.logMetrics(step, trainMetrics(metrics)),
      onEpochEnd: async (epoch, step, net) => {
        if (!knnEvery || (epoch + 1) % knnEvery !== 0) return;
        const knn = await knnMonitor(net.encoder, train, test!, { imageSize: config.data.imageSize, ...config.knn, seed: config.seed });
        knnTop1 = knn.top1;
        run.logMetrics(step, { 'knn/top1': knn.top1, 'knn/top5': knn.top5, 'knn/rankme': knn.rankMe, 'train/epoch': epoch + 1 });
        if (options.log ?? true) console.log(`\n[pretrain] epoch ${epoch + 1}: kNN top-1 ${(100 * knn.top1).toFixed(2)}%, effective rank ${knn.rankMe.toFixed(1)} of ${net.encoder.outputDim}`);
      },
    });
    for (const file of ['config.json', 'metrics.csv']) run.logArtifact(join(result.outDir, file));
    if (existsSync(result.checkpointPath)) {
      // The encoder as an MLflow-style model: the checkpoint and an MLmodel saying how to load it.
      const mlmodel = join(result.outDir, 'MLmodel');
      writeFileSync(mlmodel, mlmodelYaml(config, result.steps));
      run.logArtifact(result.checkpointPath, `${MODEL_ARTIFACT_PATH}/${MODEL_CHECKPOINT_FILE}`);
      run.logArtifact(mlmodel, `${MODEL_ARTIFACT_PATH}/MLmodel`);
      run.setTags({ [MODEL_TAGS.artifactPath]: MODEL_ARTIFACT_PATH });
    }
    if (knnTop1 !== null) run.logMetrics(result.steps, { [HEADLINE_METRICS.knnTop1]: knnTop1 });
    // The probe's top-1 is logged here too by the caller (recordProbeHeadline) once the probe ran.
    if (!options.keepOpen || result.interrupted) await run.end(result.interrupted ? 'KILLED' : 'FINISHED');
    return { ...result, runId: run.id, knnTop1, run };
  } catch (err) {
    await run.end('FAILED');
    throw err;
  } finally {
    stopSystemMetrics();
  }
}
