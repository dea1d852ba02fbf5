// `npm run bench:train [-- --model convnet|resnet18|resnet50 --batch N --steps N --warmup N --backends node,wasm,cpu --json]`
// `npm run bench:train -- --memory [--memory-steps 1000]`
//
// Training-step throughput of the real pretraining step (UniGrad, gradient form, EMA target — the step of
// apps/pretrain/src/train.ts, on pre-made views, so the data pipeline is timed separately) on every TF.js backend
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
import { fmnist, resolveConfig, type PretrainConfig } from '@unigrad/configs';
import { batches, disposeBatch, findFashionMnistDir, loadFashionMnist, twoViews } from '@unigrad/data';
import { getMethod, type LossInputs, type MethodState } from '@unigrad/losses';
import { SiameseNet, type TrunkConfig } from '@unigrad/models';
import { SGD } from '@unigrad/optimizers';
import { methodHyper, trunkConfigFor } from '../apps/pretrain/src/train';
import { augmentConfigFor } from '../apps/pretrain/src/views';

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
      return { model, description: `fmnist preset encoder: convnet ${config.model.widths.join('/')}, 28x28x1, projector ${proj.projectorHidden}/${proj.projectorOut}`, trunk: trunkConfigFor(config), size: 28, channels: 1, ...proj, batch: 256, steps: 5, warmup: 2 };
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

const USAGE =
  'use --model convnet|resnet18|resnet50 (repeatable or comma-separated), --batch N, --steps N, --warmup N, ' +
  '--backends node,wasm,cpu, --timeout S (per backend worker), --no-torch, --no-data, --json, --memory [--memory-steps N]';

function parseArgs(argv: string[]): Args {
  const args: Args = { models: [], backends: ['node', 'wasm', 'cpu'], backendsExplicit: false, json: false, torch: true, data: true, memory: false, memorySteps: 1000, timeout: 90 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value; ${USAGE}`);
      return v;
    };
    const int = (min: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min) throw new Error(`${a} needs an integer >= ${min}, got ${argv[i]}`);
      return v;
    };
    if (a === '--model' || a === '--models') {
      for (const m of value().split(',')) {
        if (!(MODELS as readonly string[]).includes(m)) throw new Error(`unknown model '${m}'; choose from ${MODELS.join(', ')}`);
        args.models.push(m as ModelName);
      }
    } else if (a === '--batch') args.batch = int(2);
    else if (a === '--steps') args.steps = int(1);
    else if (a === '--warmup') args.warmup = int(0);
    else if (a === '--backends') {
      args.backends = value().split(',') as BackendName[];
      args.backendsExplicit = true;
      for (const b of args.backends) if (!TRAIN_BACKENDS.includes(b)) throw new Error(`unknown backend '${b}'; choose from ${TRAIN_BACKENDS.join(', ')}`);
    } else if (a === '--json') args.json = true;
    else if (a === '--no-torch') args.torch = false;
    else if (a === '--no-data') args.data = false;
    else if (a === '--memory') args.memory = true;
    else if (a === '--memory-steps') args.memorySteps = int(2);
    else if (a === '--timeout') args.timeout = int(1);
    else if (a === '--worker') args.worker = value() as Args['worker'];
    else if (a === '--worker-backend') args.workerBackend = value() as BackendName;
    else throw new Error(`unknown option ${a}; ${USAGE}`);
  }
  if (args.models.length === 0) args.models = [...MODELS];
  return args;
}

// ---------------------------------------------------------------------------------------------------------
// The step (worker side): apps/pretrain/src/train.ts's step body for UniGrad grad-mm, minus data and logging.

interface Trainer {
  /** One training step on the given views; resolves when every update of the step has run. */
  step(view1: tf.Tensor4D, view2: tf.Tensor4D): Promise<number>;
  dispose(): void;
}

function makeTrainer(spec: ModelSpec, seed = 0): Trainer {
  const config = benchConfig();
  const method = getMethod('unigrad');
  const hyper = methodHyper(method, config);
  const net = new SiameseNet(
    { trunk: spec.trunk, projector: { hiddenDim: spec.projectorHidden, outputDim: spec.projectorOut }, predictor: null, momentum: true },
    new Rng(seed),
  );
  const params = net.onlineParams();
  const keyOfVariable = new Map([...params].map(([key, v]) => [v.name, key]));
  const optimizer = new SGD({ momentum: config.optim.momentum, weightDecay: config.optim.weightDecay });
  const lr = (config.optim.baseLr * config.optim.batchSize) / 256; // the peak of the warm-up/cosine schedule
  const emaMomentum = config.optim.baseMomentum;
  const lastParam = [...params.values()].at(-1)!;
  let state: MethodState = method.initialState(net.embeddingDim, hyper, new Rng(seed + 7));

  return {
    async step(view1, view2) {
      net.updateTarget(emaMomentum);
      const p1m = net.forwardTarget(view1);
      const p2m = net.forwardTarget(view2);
      const kept: { posSim?: tf.Scalar; embeddingStd?: tf.Scalar; state?: MethodState } = {};
      const { value, grads } = tf.variableGrads(() => {
        const out1 = net.forwardOnline(view1, 'train');
        const out2 = net.forwardOnline(view2, 'train');
        const inputs: LossInputs = { p1: out1.projection, p2: out2.projection, p1m, p2m };
        const result = method.gradient(inputs, 'mm', state, hyper);
        kept.posSim = tf.keep(result.posSim);
        kept.embeddingStd = tf.keep(tf.tidy(() => embeddingStd(out1.projection)));
        kept.state = result.state;
        for (const v of Object.values(result.state)) if (v) tf.keep(v);
        return result.loss;
      }, [...params.values()]);
      const loss = (await value.data())[0];
      const named = new Map(Object.entries(grads).map(([varName, g]) => [keyOfVariable.get(varName)!, g]));
      optimizer.step(params, named, lr);
      const reused = new Set(Object.values(kept.state!));
      for (const v of Object.values(state)) if (v && !reused.has(v)) v.dispose();
      state = kept.state!;
      await kept.posSim!.data();
      await kept.embeddingStd!.data();
      await lastParam.data(); // the optimizer's last update has run
      tf.dispose([value, ...Object.values(grads), p1m, p2m, kept.posSim!, kept.embeddingStd!]);
      return loss;
    },
    dispose() {
      for (const v of Object.values(state)) v?.dispose();
      optimizer.dispose();
      net.dispose();
    },
  };
}

/** As train.ts logs it: mean over dimensions of the per-dimension std of the L2-normalised embeddings. */
function embeddingStd(p: tf.Tensor2D): tf.Scalar {
  const z = tf.div(p, tf.maximum(tf.norm(p, 2, 1, true), 1e-12));
  return tf.moments(z, 0).variance.sqrt().mean() as tf.Scalar;
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
  const config = benchConfig();
  const hyper = methodHyper(getMethod('unigrad'), config);
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

main().catch((err) => {
  console.error(`[bench:train] ${(err as Error).message}`);
  process.exitCode = 1;
});
