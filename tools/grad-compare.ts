// npm run grad-compare -- --checkpoint <ckpt> [--batches N] [--json] [--out DIR]
// npm run grad-compare -- --run <dir> [--batches N] [--json] [--out DIR]     (epoch-*.ckpt and latest.ckpt of a run)
//
// How close each method's gradient is to UniGrad's on the batches of a real checkpoint (issue 17): for every
// registered method × form × target, the gradient w.r.t. the online embeddings, its positive/negative split, the
// per-sample cosine matrices and the effective λ (libs/engine/src/grad-compare). Writes per checkpoint a JSON
// record and an SVG heatmap, for a run also a line chart over epochs, and grad-compare.md (a section for
// RESULTS.md); all are logged as artifacts of one tracked run (embedded store unless MLFLOW_TRACKING_URI is set;
// UNIGRAD_TRACKING_DIR selects the store directory).
import { ConfigError, EXIT, exitWithError, intFlag, parseCli, type CliSpec } from '@unigrad/configs';
import type { GradCompareRecord } from '@unigrad/engine';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const CLI: CliSpec = {
  usage: 'npm run grad-compare -- (--checkpoint <ckpt> | --run <dir>) [--batches N] [--json] [--out DIR]',
  summary:
    "Measures how close every method's gradient (original loss and gradient form, with and without momentum targets) is to UniGrad's " +
    "on batches of a checkpoint's own data: positive/negative decomposition, per-sample cosine matrices, effective λ. Writes a JSON record " +
    'and an SVG heatmap per checkpoint, a line chart over epochs for --run, and grad-compare.md; logs them all to a tracked run.',
  flags: {
    checkpoint: { type: 'string', valueName: 'ckpt', description: 'a pretraining checkpoint (e.g. runs/quick/unigrad-grad-mm-seed42/latest.ckpt)' },
    run: { type: 'string', valueName: 'dir', description: 'a run directory: measures every epoch-<k>.ckpt and latest.ckpt in it, in step order' },
    batches: { type: 'string', valueName: 'N', description: 'training batches to measure per checkpoint (default 4; at most one epoch)' },
    json: { type: 'boolean', description: 'print the JSON record (an array for --run) on stdout; progress goes to stderr' },
    out: { type: 'string', valueName: 'DIR', description: 'output folder (default: <checkpoint folder>/grad-compare)' },
  },
  exitCodes: { [EXIT.runtime]: 'runtime error (unreadable checkpoint, missing data)', [EXIT.usage]: 'bad usage (missing checkpoint or run folder, bad flag)' },
};

/** The checkpoints of a run folder: epoch-<k>.ckpt by k, then latest.ckpt unless it is the same step as the last epoch file. */
export function runCheckpoints(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`--run ${dir}: no such directory`);
  const epochs = readdirSync(dir)
    .map((name) => ({ name, k: /^epoch-(\d+)\.ckpt$/.exec(name)?.[1] }))
    .filter((e): e is { name: string; k: string } => e.k !== undefined)
    .sort((a, b) => Number(a.k) - Number(b.k))
    .map((e) => join(dir, e.name));
  const latest = join(dir, 'latest.ckpt');
  const files = [...epochs];
  if (existsSync(latest)) {
    const { pretrainMeta } = require('@unigrad/engine') as typeof import('@unigrad/engine');
    const { loadCheckpoint } = require('@unigrad/models') as typeof import('@unigrad/models');
    const stepOf = (path: string) => pretrainMeta(loadCheckpoint(path).meta, path).step;
    if (!epochs.length || stepOf(latest) !== stepOf(epochs[epochs.length - 1])) files.push(latest);
  }
  if (!files.length) throw new ConfigError(`--run ${dir}: no epoch-<k>.ckpt or latest.ckpt in it`);
  return files;
}

const metricKey = (target: string, id: string, what: string) => `grad_compare.${target}.${id.replace(/[^A-Za-z0-9_-]/g, '.')}.${what}`;

/** The numbers of a record as flat tracking metrics. */
function metricsOf(record: GradCompareRecord): Record<string, number> {
  const out: Record<string, number> = { 'grad_compare.epoch': record.checkpoint.epoch };
  for (const ctx of record.contexts) {
    for (const e of ctx.entries) {
      const values: Record<string, number | null> = {
        cos_to_unigrad: e.cosineToUniGrad,
        neg_cos_to_unigrad: e.negativeCosineToUniGrad,
        lambda_rel: e.lambdaRelative,
        lambda_r2: e.lambdaR2,
        pos_norm: e.norms?.positive ?? null,
        neg_norm: e.norms?.negative ?? null,
      };
      for (const [what, v] of Object.entries(values)) if (v !== null && Number.isFinite(v)) out[metricKey(ctx.target, e.id, what)] = v;
    }
  }
  return out;
}

function summaryLines(record: GradCompareRecord): string[] {
  const lines = [`${record.checkpoint.path} (step ${record.checkpoint.step}, epoch ${record.checkpoint.epoch}): cosine to UniGrad [negative parts] | effective λ / UniGrad's (R²)`];
  for (const ctx of record.contexts) {
    if (!ctx.available) {
      lines.push(`  ${ctx.target}: ${ctx.reason}`);
      continue;
    }
    for (const e of ctx.entries) {
      const f = (v: number | null) => (v === null ? '  n/a' : v.toFixed(3));
      lines.push(`  ${ctx.target.padEnd(5)} ${e.label.padEnd(22)} ${e.available ? `${f(e.cosineToUniGrad)} [${f(e.negativeCosineToUniGrad)}] | ${f(e.lambdaRelative)} (${f(e.lambdaR2)})` : e.unavailable}`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { flags } = parseCli(argv, CLI);
  const checkpoint = typeof flags.checkpoint === 'string' ? flags.checkpoint : undefined;
  const runFolder = typeof flags.run === 'string' ? flags.run : undefined;
  if (!checkpoint === !runFolder) throw new ConfigError('give exactly one of --checkpoint <ckpt> or --run <dir>; see --help');
  if (checkpoint && !existsSync(checkpoint)) throw new ConfigError(`--checkpoint ${checkpoint}: no such file`);
  const batchCount = intFlag(flags, 'batches', 4);
  const json = flags.json === true;
  const files = checkpoint ? [checkpoint] : runCheckpoints(runFolder as string);
  const out = resolve(typeof flags.out === 'string' ? flags.out : join(checkpoint ? dirname(checkpoint) : (runFolder as string), 'grad-compare'));
  // With --json, stdout carries the record and nothing else.
  const say = json ? (...a: unknown[]) => console.error(...a) : (...a: unknown[]) => console.log(...a);
  if (json) console.log = (...a: unknown[]) => console.error(...a);

  // The heavy libraries load after the arguments are checked, so --help and usage errors answer at once.
  const { initBackend, writeFileAtomic } = await import('@unigrad/core');
  const { gradCompareCheckpoint, heatmapSvg, lineChartSvg, markdownSection } = await import('@unigrad/engine');
  const { createTracker } = await import('@unigrad/tracking');
  await initBackend({ log: !json });
  mkdirSync(out, { recursive: true });
  const records: GradCompareRecord[] = [];
  const written: string[] = [];
  for (const file of files) {
    const record = await gradCompareCheckpoint(file, { batches: batchCount, log: (m) => console.error(m) });
    records.push(record);
    const stem = `grad-compare-${basename(file).replace(/\.ckpt$/, '')}`;
    writeFileAtomic(join(out, `${stem}.json`), JSON.stringify(record, null, 2) + '\n');
    writeFileAtomic(join(out, `${stem}.svg`), heatmapSvg(record));
    written.push(`${stem}.json`, `${stem}.svg`);
  }
  if (records.length > 1) {
    writeFileAtomic(join(out, 'grad-compare-epochs.svg'), lineChartSvg(records));
    written.push('grad-compare-epochs.svg');
  }
  const command = `npm run grad-compare -- ${argv.join(' ')}`;
  writeFileAtomic(join(out, 'grad-compare.md'), markdownSection(records, { command }));
  written.push('grad-compare.md');

  const last = records[records.length - 1].checkpoint;
  const tracker = createTracker();
  const run = await tracker.startRun({
    experiment: `unigrad-${last.preset}`,
    runName: `grad-compare ${basename(dirname(resolve(files[0])))}`,
    tags: { 'unigrad.role': 'grad-compare', 'unigrad.method': last.method, 'unigrad.form': last.form, 'unigrad.target': last.target, 'unigrad.preset': last.preset, 'unigrad.dataset': last.dataset },
    params: { checkpoints: files.map((f) => resolve(f)).join(',').slice(0, 6000), batches: batchCount, batch_size: records[0].batchSize },
  });
  try {
    for (const r of records) run.logMetrics(r.checkpoint.step, metricsOf(r));
    for (const name of written) run.logArtifact(join(out, name), `grad-compare/${name}`);
    await run.end('FINISHED');
  } catch (err) {
    await run.end('FAILED');
    throw err;
  }
  await tracker.flush();

  if (json) process.stdout.write(JSON.stringify(records.length === 1 ? records[0] : records) + '\n');
  else for (const r of records) say(summaryLines(r).join('\n'));
  say(`[grad-compare] ${records.length} checkpoint(s) → ${out} (${written.join(', ')}); tracked run ${run.id}`);
}

if (require.main === module) main().catch((err) => exitWithError(err));
