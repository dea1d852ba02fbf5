// `npm run bench:train [-- --model convnet|resnet18|resnet50 --batch N --steps N --warmup N --backends node,wasm,cpu --json]`
// `npm run bench:train -- --memory [--memory-steps 1000]`
//
// Training-step throughput of the real pretraining step (UniGrad, gradient form, EMA target — the step of
// libs/engine's trainStep, on pre-made views, so the data pipeline is timed separately) on every TF.js backend
// available, and in the same run the same model, batch and step in PyTorch (Debian's python3-torch on the CPU,
// torch.set_num_threads = the cores this process may use) as the yardstick. Also the data pipeline's images/s
// (libs/data twoViews with the fmnist preset's augmentation, on Fashion-MNIST batches).
//
// Models: `convnet` = the fmnist preset's encoder (read from configs/presets.ts);
// `resnet18` = ResNet-18, CIFAR stem, widths 16/32/64/128, 28x28x1 (the model of issue 9);
// `resnet50` = ResNet-50 (bottlenecks), CIFAR stem, widths 16/32/64/128 (512-d features), 32x32x3.
// Default batches: 256 (convnet), 128 (resnet18), 32 (resnet50); wasm times the ResNets only when --backends
// names it (each takes minutes there), cpu runs only when --backends names it.
// Each backend runs in its own child process (a backend that cannot train is reported, not fatal). Images/s are
// source images per second (each gives two views); the median over the timed steps, warm-up excluded.
//
// --memory: 1,000 small steps (convnet, batch 16) on the default backend (or the first of --backends); reports tf.memory().numTensors and the
// process RSS after warm-up and at the end (tensor count must not grow; RSS should level off).
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Rng, initBackend, type BackendName } from '@unigrad/core';
import { ConfigError, exitWithError, fmnist, intFlag, optionalIntFlag, parseCli, resolveConfig, type CliSpec, type PretrainConfig } from '@unigrad/configs';
import { batches, disposeBatch, findFashionMnistDir, loadFashionMnist, twoViews } from '@unigrad/data';
import { augmentConfigFor, buildTraining, disposeState, disposeTraining, stepSeed, trainStep, trunkConfigFor } from '@unigrad/engine';
import type { MethodState } from '@unigrad/losses';
import type { TrunkConfig } from '@unigrad/models';

const MODELS = ['convnet', 'resnet18', 'resnet50'] as const;
type ModelName = (typeof MODELS)[number];
const TRAIN_BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu'];
const TORCH_PYTHON = '/usr/bin/python3';
/** The memory run's time limit (1,000 small steps take about a minute on the native backend). */
const MEMORY_TIMEOUT_S = 1200;

interface ModelSpec {
  model: ModelName;
  description: string;
  trunk: TrunkConfig;
  size: number;
  channels: 1 | 3;
  projectorHidden: number;
  projectorOut: number;
  /** Default batch, steps and warm-up of the default run (kept under ~3 minutes on 2 cores in total). */
  batch: number;
  steps: number;
  warmup: number;
}

/** The fmnist preset with the UniGrad gradient form and a momentum target: the config the bench times. */
function benchConfig(): PretrainConfig {
  return resolveConfig(fmnist, { method: 'unigrad', form: 'grad', target: 'mm' });
}

function modelSpec(model: ModelName): ModelSpec {
  const config = benchConfig();
  const proj = { projectorHidden: config.model.projectorHidden, projectorOut: config.model.projectorOut };
  const narrow = [16, 32, 64, 128] as const;
  switch (model) {
    case 'convnet':
      return { model, description: `fmnist preset encoder: convnet ${(config.model.widths ?? []).join('/')}, 28x28x1, projector ${proj.projectorHidden}/${proj.projectorOut}`, trunk: trunkConfigFor(config), size: 28, channels: 1, ...proj, batch: 256, steps: 5, warmup: 2 };
    case 'resnet18':
      return {
        model,
        description: 'ResNet-18, CIFAR stem, widths 16/32/64/128, 28x28x1',
        trunk: { kind: 'resnet18', stem: 'cifar', widths: narrow, inChannels: 1, zeroInitResidual: true },
        size: 28,
        channels: 1,
        ...proj,
        batch: 128,
        steps: 3,
        warmup: 1,
      };
    case 'resnet50':
      return {
        model,
        description: 'ResNet-50, CIFAR stem, widths 16/32/64/128, 32x32x3',
        trunk: { kind: 'resnet50', stem: 'cifar', widths: narrow, inChannels: 3, zeroInitResidual: true },
        size: 32,
        channels: 3,
        ...proj,
        batch: 32,
        steps: 2,
        warmup: 1,
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Command line.

interface Args {
  models: ModelName[];
  batch?: number;
  steps?: number;
  warmup?: number;
  backends: BackendName[];
  /** --backends was given: run exactly those (the cpu backend too, at any size). */
  backendsExplicit: boolean;
  json: boolean;
  torch: boolean;
  data: boolean;
  memory: boolean;
  memorySteps: number;
  /** Seconds one backend worker may take before it is reported as unavailable. */
  timeout: number;
  worker?: 'train' | 'data' | 'memory';
  workerBackend?: BackendName;
}

const CLI: CliSpec = {
  usage: 'npm run bench:train -- [options]',
  summary: "Training-step img/s of the engine's own step on each TF.js backend, with PyTorch (same model, batch and step) as the yardstick in the same run; --memory checks tensors and RSS stay flat.",
  flags: {
    model: { type: 'string', valueName: 'name', multiple: true, description: `model(s): ${MODELS.join(', ')} (comma list allowed) [all]` },
    batch: { type: 'string', valueName: 'n', description: 'batch (default per model: 256 / 128 / 32)' },
    steps: { type: 'string', valueName: 'n', description: 'timed steps (default per model)' },
    warmup: { type: 'string', valueName: 'n', description: 'warm-up steps, not timed (default per model)' },
    backends: { type: 'string', valueName: 'list', description: `comma list of ${TRAIN_BACKENDS.join(',')} [node,wasm; cpu only when named]` },
    timeout: { type: 'string', valueName: 's', description: 'seconds one backend worker may take [90]' },
    'no-torch': { type: 'boolean', description: 'skip the PyTorch yardstick' },
    'no-data': { type: 'boolean', description: 'skip the data-pipeline measurement' },
    json: { type: 'boolean', description: 'one JSON object per measurement' },
    memory: { type: 'boolean', description: '1,000 small steps: live tensors and RSS must stay flat' },
    'memory-steps': { type: 'string', valueName: 'n', description: 'steps of the memory run [1000]' },
    worker: { type: 'string', valueName: 'kind', description: '(internal) run one worker: train | data | memory' },
    'worker-backend': { type: 'string', valueName: 'name', description: '(internal) backend of the worker' },
  },
  exitCodes: { 1: 'runtime error', 2: 'bad usage' },
};

function parseArgs(argv: string[]): Args {
  const { flags } = parseCli(argv, CLI);
  const models = ((flags.model as string[] | undefined) ?? []).flatMap((m) => m.split(','));
  for (const m of models) if (!(MODELS as readonly string[]).includes(m)) throw new ConfigError(`unknown model '${m}'; choose from ${MODELS.join(', ')}`);
  const backends = typeof flags.backends === 'string' ? (flags.backends.split(',') as BackendName[]) : (['node', 'wasm', 'cpu'] as BackendName[]);
  for (const b of backends) if (!TRAIN_BACKENDS.includes(b)) throw new ConfigError(`unknown backend '${b}'; choose from ${TRAIN_BACKENDS.join(', ')}`);
  const worker = flags.worker as Args['worker'];
  if (worker !== undefined && !['train', 'data', 'memory'].includes(worker)) throw new ConfigError(`unknown worker '${worker}'`);
  return {
    models: models.length ? (models as ModelName[]) : [...MODELS],
    batch: optionalIntFlag(flags, 'batch', 2),
    steps: optionalIntFlag(flags, 'steps', 1),
    warmup: optionalIntFlag(flags, 'warmup', 0),
    backends,
    backendsExplicit: typeof flags.backends === 'string',
    json: Boolean(flags.json),
    torch: !flags['no-torch'],
    data: !flags['no-data'],
    memory: Boolean(flags.memory),
    memorySteps: intFlag(flags, 'memory-steps', 1000, 2),
    timeout: intFlag(flags, 'timeout', 90),
    worker,
    workerBackend: flags['worker-backend'] as BackendName | undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The step (worker side): the engine's own trainStep (libs/engine) for UniGrad grad-mm, on pre-made views.

interface Trainer {
  /** One training step on the given views; resolves when every update of the step has run. */
  step(view1: tf.Tensor4D, view2: tf.Tensor4D): Promise<number>;
  dispose(): void;
}

/** The bench config of a model: the fmnist preset's UniGrad grad-mm with this model's trunk and input. */
function modelConfig(spec: ModelSpec): PretrainConfig {
  const { kind, stem, widths, zeroInitResidual } = spec.trunk;
  return resolveConfig(fmnist, {
    method: 'unigrad',
    form: 'grad',
    target: 'mm',
    // The dataset only fixes the input channels here (no data is read): Fashion-MNIST 1, CIFAR-10 3.
    data: { dataset: spec.channels === 1 ? 'fashion-mnist' : 'cifar10', imageSize: spec.size },
    model: { trunk: kind, stem, widths: widths ? [...widths] : undefined, zeroInitResidual, projectorHidden: spec.projectorHidden, projectorOut: spec.projectorOut },
  });
}

function makeTrainer(spec: ModelSpec): Trainer {
  const config = modelConfig(spec);
  const training = buildTraining(config, { stepsPerEpoch: 1, totalSteps: 1 });
  const lr = (config.optim.baseLr * config.optim.batchSize) / 256; // the peak of the warm-up/cosine schedule
  const emaMomentum = config.optim.baseMomentum;
  const lastParam = [...training.params.values()].at(-1)!;
  let state: MethodState = training.method.initialState(training.net.embeddingDim, training.hyper, new Rng(config.seed + 7));
  let step = 0;
  return {
    async step(view1, view2) {
      // trainStep owns (and frees) its views; clones share the data, so the bench can reuse its two tensors.
      const outcome = await trainStep(training, [view1.clone(), view2.clone()], state, { lr, emaMomentum, rng: new Rng(stepSeed(config.seed, step++)) });
      state = outcome.state;
      await lastParam.data(); // the optimizer's last update has run
      return outcome.loss;
    },
    dispose() {
      disposeState(state);
      disposeTraining(training);
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface WorkerResult {
  model: ModelName;
  batch: number;
  backend: string;
  status: 'ok' | 'unavailable' | 'skipped';
  reason?: string;
  img_per_s?: number;
  step_ms_median?: number;
  steps?: number;
  warmup?: number;
  loss?: number;
}

async function trainWorker(args: Args): Promise<void> {
  const backend = args.workerBackend!;
  try {
    await initBackend({ force: backend, log: false });
  } catch (err) {
    for (const model of args.models) emitTrain({ model, batch: args.batch ?? modelSpec(model).batch, backend, status: 'unavailable', reason: firstLine(err) });
    return;
  }
  for (const model of args.models) {
    const spec = modelSpec(model);
    const batch = args.batch ?? spec.batch;
    const steps = args.steps ?? spec.steps;
    const warmup = args.warmup ?? spec.warmup;
    const view1 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const view2 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 2) as tf.Tensor4D;
    let trainer: Trainer | null = null;
    try {
      trainer = makeTrainer(spec);
      for (let i = 0; i < warmup; i++) await trainer.step(view1, view2);
      const times: number[] = [];
      let loss = NaN;
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        loss = await trainer.step(view1, view2);
        times.push(performance.now() - t0);
      }
      const ms = median(times);
      emitTrain({ model, batch, backend, status: 'ok', img_per_s: round(batch / (ms / 1000)), step_ms_median: round(ms), steps, warmup, loss });
    } catch (err) {
      emitTrain({ model, batch, backend, status: 'unavailable', reason: `cannot train ${model}: ${firstLine(err)}` });
    } finally {
      trainer?.dispose();
      tf.dispose([view1, view2]);
    }
  }
}

/** Data pipeline: images/s of Fashion-MNIST batches → two augmented views (fmnist preset's augmentation). */
async function dataWorker(args: Args): Promise<void> {
  const choice = await initBackend({ log: false });
  const config = benchConfig();
  const batchSize = args.batch ?? config.optim.batchSize;
  const count = 10;
  let dir: string;
  try {
    dir = findFashionMnistDir();
  } catch (err) {
    emit({ bench: 'data', model: 'data-pipeline', backend: choice.name, status: 'unavailable', reason: firstLine(err) });
    return;
  }
  const ds = loadFashionMnist('train', dir);
  const augment = augmentConfigFor(config, ds);
  const rng = new Rng(0);
  let images = 0;
  let started = 0;
  for await (const b of batches(ds, { batchSize, seed: 0, epoch: 0, dropLast: true })) {
    if (images === 0 && started === 0) started = -1; // first batch = warm-up
    const views = twoViews(b, augment, rng);
    await Promise.all(views.map((v) => v.data()));
    tf.dispose(views);
    disposeBatch(b);
    if (started === -1) {
      started = performance.now();
      continue;
    }
    images += batchSize;
    if (images >= count * batchSize) break;
  }
  const perS = images / ((performance.now() - started) / 1000);
  emit({ bench: 'data', model: 'data-pipeline', batch: batchSize, backend: choice.name, status: 'ok', img_per_s: round(perS), batches: count });
}

/** 1,000 small steps: live tensors and RSS after warm-up and at the end. */
async function memoryWorker(args: Args): Promise<void> {
  const choice = await initBackend({ force: args.workerBackend, log: false });
  const spec = modelSpec(args.models[0] ?? 'convnet');
  const batch = args.batch ?? 16;
  const total = args.memorySteps;
  const view1 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const view2 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  const trainer = makeTrainer(spec);
  const warm = Math.min(10, total - 1);
  const sample = (step: number) => ({ step, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, rss_mb: round(process.memoryUsage().rss / 2 ** 20) });
  const samples = [];
  const t0 = performance.now();
  for (let i = 1; i <= total; i++) {
    await trainer.step(view1, view2);
    if (i === warm || i === total || i % 250 === 0) {
      const s = sample(i);
      samples.push(s);
      if (!args.json) console.log(`  step ${String(i).padStart(5)}: ${s.numTensors} tensors, ${(s.numBytes / 2 ** 20).toFixed(1)} MiB in tensors, RSS ${s.rss_mb} MiB`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const first = samples[0];
  const last = samples[samples.length - 1];
  emit({
    bench: 'memory',
    model: spec.model,
    batch,
    backend: choice.name,
    steps: total,
    seconds: round(seconds),
    tensors_start: first.numTensors,
    tensors_end: last.numTensors,
    rss_mb_start: first.rss_mb,
    rss_mb_end: last.rss_mb,
    flat: last.numTensors === first.numTensors,
    samples,
  });
  trainer.dispose();
  tf.dispose([view1, view2]);
}

function emitTrain(record: WorkerResult): void {
  emit(record);
}

function emit(record: object): void {
  // Workers always speak JSON to the parent.
  console.log(JSON.stringify(record));
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

const round = (v: number) => Math.round(v * 10) / 10;

// ---------------------------------------------------------------------------------------------------------
// Parent: spawns one worker per backend, PyTorch per model, the data worker; prints the table or JSON lines.

function runWorker(workerArgs: string[], timeoutS: number): Record<string, unknown>[] {
  const tsNode = require.resolve('ts-node/dist/bin.js');
  const res = spawnSync(process.execPath, [tsNode, '--transpile-only', __filename, ...workerArgs], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: timeoutS * 1000,
    killSignal: 'SIGKILL',
  });
  const records = parseJsonLines(res.stdout);
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' && records.length === 0) {
    throw new Error(`no result within ${timeoutS} s (raise --timeout to wait longer)`);
  }
  if (res.status !== 0 && records.length === 0) {
    throw new Error(`worker ${workerArgs.join(' ')} failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  return records;
}

function parseJsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function torchAvailable(): string | null {
  if (!existsSync(TORCH_PYTHON)) return `${TORCH_PYTHON} not found (install Debian's python3-torch)`;
  const res = spawnSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (res.status !== 0) return `${TORCH_PYTHON} cannot import torch (apt-get install python3-torch): ${res.stderr.trim().split('\n').at(-1)}`;
  return null;
}

interface TorchResult {
  img_per_s?: number;
  reason?: string;
  version?: string;
  blas?: string;
}

function runTorch(spec: ModelSpec, batch: number, steps: number, warmup: number, threads: number): TorchResult {
  const config = modelConfig(spec);
  const hyper = config.loss;
  const torchSpec = {
    trunk: spec.trunk.kind,
    widths: spec.trunk.widths ?? [32, 64, 128],
    channels: spec.channels,
    size: spec.size,
    projector_hidden: spec.projectorHidden,
    projector_out: spec.projectorOut,
    batch,
    lambda: hyper.lambda,
    rho: hyper.rho,
    lr: (config.optim.baseLr * config.optim.batchSize) / 256,
    ema: config.optim.baseMomentum,
  };
  const script = join(__dirname, 'bench_train_torch.py');
  // Passive OpenMP waiting: with active spin-waiting (libgomp's default) a 2-thread PyTorch step on a machine
  // with any other load runs 2–15x slower (measured here: convnet 67 vs 161 img/s, ResNet-50 1.5 vs 23 img/s).
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const res = spawnSync(TORCH_PYTHON, [script, '--spec', JSON.stringify(torchSpec), '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads)], {
    encoding: 'utf8',
    env,
  });
  const rec = parseJsonLines(res.stdout)[0];
  if (!rec || rec.error || res.status !== 0) return { reason: String(rec?.error ?? res.stderr.trim().split('\n').at(-1)) };
  return { img_per_s: round(rec.img_per_s as number), version: String(rec.torch), blas: String(rec.blas) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) {
    if (args.worker === 'train') await trainWorker(args);
    else if (args.worker === 'data') await dataWorker(args);
    else if (args.worker === 'memory') await memoryWorker(args);
    else throw new Error(`unknown worker '${args.worker}'`);
    // The wasm backend's pthread workers keep the event loop alive after the work is done; stdout to a pipe is
    // synchronous on Linux, so everything printed has been written.
    process.exit(0);
  }

  const out = (line: string) => {
    if (!args.json) console.log(line);
  };
  if (args.memory) {
    const backend = args.backendsExplicit ? args.backends[0] : undefined;
    out(`[bench:train] memory: ${args.memorySteps} steps of ${args.models[0] ?? 'convnet'} (batch ${args.batch ?? 16}) on the ${backend ?? 'default'} backend…`);
    const forward = ['--worker', 'memory', '--memory-steps', String(args.memorySteps), '--model', args.models[0] ?? 'convnet'];
    if (backend) forward.push('--worker-backend', backend);
    if (args.batch) forward.push('--batch', String(args.batch));
    if (args.json) forward.push('--json');
    const tsNode = require.resolve('ts-node/dist/bin.js');
    const res = spawnSync(process.execPath, [tsNode, '--transpile-only', __filename, ...forward], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: MEMORY_TIMEOUT_S * 1000,
      killSignal: 'SIGKILL',
    });
    if (res.error && (res.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') out(`memory run stopped after ${MEMORY_TIMEOUT_S} s without finishing`);
    const lines = res.stdout.split('\n').filter(Boolean);
    for (const line of lines) {
      if (!line.startsWith('{')) out(line);
      else if (args.json) console.log(line);
      else {
        const r = JSON.parse(line) as Record<string, number | string | boolean>;
        out(
          `memory ${r.model} batch ${r.batch} on ${r.backend}, ${r.steps} steps in ${r.seconds} s: tensors ${r.tensors_start} → ${r.tensors_end} ` +
            `(${r.flat ? 'flat' : 'GROWING'}), RSS ${r.rss_mb_start} → ${r.rss_mb_end} MiB`,
        );
      }
    }
    if (res.status !== 0) process.exitCode = 1;
    return;
  }

  const threads = availableParallelism();
  out(`[bench:train] UniGrad grad-mm step (two views, projector, EMA target, SGD momentum 0.9 wd 1e-4); ${threads} cores, load average ${loadavg()[0].toFixed(2)}`);
  const torchMissing = args.torch ? torchAvailable() : 'disabled by --no-torch';
  const torchResults = new Map<ModelName, TorchResult>();
  if (torchMissing) out(`PyTorch yardstick unavailable: ${torchMissing}`);

  for (const model of args.models) {
    const spec = modelSpec(model);
    const batch = args.batch ?? spec.batch;
    const steps = args.steps ?? spec.steps;
    const warmup = args.warmup ?? spec.warmup;
    out(`\n${model} (${spec.description}), batch ${batch}, ${steps} timed steps after ${warmup} warm-up:`);
    const torch = torchMissing ? { reason: torchMissing } : runTorch(spec, batch, steps, warmup, threads);
    torchResults.set(model, torch);
    const torchImg = torch.img_per_s;
    if (args.json) {
      console.log(JSON.stringify({ bench: 'train', model, batch, backend: 'pytorch', status: torchImg ? 'ok' : 'unavailable', reason: torch.reason, img_per_s: torchImg ?? null, pytorch_img_per_s: torchImg ?? null, ratio_to_pytorch: torchImg ? 1 : null, torch: torch.version, blas: torch.blas, threads }));
    }
    out(`  ${'pytorch'.padEnd(8)} ${torchImg ? `${torchImg.toFixed(1).padStart(8)} img/s  (torch ${torch.version}, ${threads} threads, BLAS ${torch.blas})` : `unavailable: ${torch.reason}`}`);
    for (const backend of args.backends) {
      let records: Record<string, unknown>[];
      if (backend === 'cpu' && !args.backendsExplicit) {
        records = [{ model, batch, backend, status: 'skipped', reason: 'the pure-JS cpu backend needs minutes per step at this size (time it with --backends cpu --batch 16)' }];
      } else if (backend === 'wasm' && model !== 'convnet' && !args.backendsExplicit) {
        records = [{ model, batch, backend, status: 'skipped', reason: 'minutes per step on wasm; time it with --backends wasm' }];
      } else {
        const workerArgs = ['--worker', 'train', '--worker-backend', backend, '--model', model, '--batch', String(batch), '--steps', String(steps), '--warmup', String(warmup)];
        try {
          records = runWorker(workerArgs, args.timeout);
        } catch (err) {
          records = [{ model, batch, backend, status: 'unavailable', reason: firstLine(err) }];
        }
      }
      for (const r of records) {
        const img = r.img_per_s as number | undefined;
        const ratio = img && torchImg ? Math.round((img / torchImg) * 1000) / 1000 : null;
        if (args.json) console.log(JSON.stringify({ bench: 'train', ...r, pytorch_img_per_s: torchImg ?? null, ratio_to_pytorch: ratio, threads }));
        out(
          `  ${backend.padEnd(8)} ${
            r.status === 'ok' ? `${img!.toFixed(1).padStart(8)} img/s  ${ratio !== null ? `${ratio.toFixed(2)}x PyTorch` : ''}  (median step ${r.step_ms_median} ms)` : `${r.status}: ${r.reason}`
          }`,
        );
      }
    }
  }

  if (args.data) {
    let records: Record<string, unknown>[];
    try {
      records = runWorker(['--worker', 'data'], args.timeout);
    } catch (err) {
      records = [{ bench: 'data', model: 'data-pipeline', status: 'unavailable', reason: firstLine(err) }];
    }
    for (const r of records) {
      if (args.json) console.log(JSON.stringify(r));
      out(
        r.status === 'ok'
          ? `\ndata pipeline (Fashion-MNIST batch ${r.batch} → two views, fmnist preset augmentation, backend ${r.backend}): ${r.img_per_s} img/s`
          : `\ndata pipeline unavailable: ${r.reason}`,
      );
    }
  }
}

main().catch(exitWithError);
