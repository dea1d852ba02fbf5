// `npm run bench:train [-- --model convnet,resnet18,resnet50 --batch N[,N…] --seconds 10 --rounds 3 --backends node,wasm,cpu --json]`
// `npm run bench:train -- --profile [--model convnet --batch 256]`      per-op profile of one step (native backend)
// `npm run bench:train -- --memory [--memory-steps 1000]`
//
// Training-step throughput of the real pretraining step (UniGrad, gradient form, EMA target — libs/engine's own
// trainStep, on pre-made views, so the data pipeline is timed separately) on every TF.js backend available, and the
// same model, batch and step in PyTorch as the yardstick, interleaved with it in the same run:
//
// - Yardstick: the bench:setup venv (`npm run bench:setup`: PyTorch 2.x from PyPI, MKL + oneDNN) when it exists,
//   else Debian's python3-torch 1.13 (reference BLAS, much weaker); every record names it (version, BLAS, ISA).
//   UNIGRAD_BENCH_PYTHON=/path/to/python picks another interpreter.
// - Fairness: each side is one long-lived worker process that builds its model and runs its warm-up steps once
//   (excluded), then waits idle on stdin. The parent runs the sides in turn for ≥ --seconds of timed steps each
//   (10 s by default, at least 3 steps), for --rounds rounds (3), the order rotated every round (A B, B A, A B), and
//   reports min/median/max over rounds of each round's img/s (= batch · steps / wall time of those steps).
// - Same work on both sides: the step of libs/engine/src/step.ts (one read-back of loss, positive similarity and
//   embedding std before the update, nothing else), the same layer order (tools/bench_train_torch.py mirrors
//   libs/models), same batch, same threads: TF_NUM_INTRAOP_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS =
//   torch.set_num_threads = --threads (default: the cores this process may use), and the same wait policy:
//   OMP_WAIT_POLICY=PASSIVE for both processes (spin-waiting OpenMP made PyTorch 2–15x slower on a loaded 2-core
//   machine; TensorFlow's own Eigen thread pool ignores it). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set on the
//   machine, are passed through unchanged (neither PyTorch build here uses OpenBLAS).
// - Load: for every slot the machine's 1-minute load average and the CPU the rest of the machine used while the
//   side ran (Δ /proc/stat busy − Δ the worker's own CPU, in cores) are recorded; a warning is printed when it was
//   busy (tools/bench-train-lib.ts BUSY).
//
// Models: `convnet` = the fmnist preset's encoder (read from configs/presets.ts);
// `resnet18` = ResNet-18, CIFAR stem, widths 16/32/64/128, 28x28x1 (the model of issue 9);
// `resnet50` = ResNet-50 (bottlenecks), CIFAR stem, widths 16/32/64/128 (512-d features), 32x32x3.
// Default batches: 256 (convnet), 128 (resnet18), 32 (resnet50); `--batch 128,256,512` measures each batch in turn.
// wasm times the ResNets only when --backends names it (each takes minutes there), cpu runs only when named.
//
// --profile: one worker on the native backend wraps tfjs-node's binding.executeOp and prints, per TF op, the calls
// and milliseconds of one step (mean over --profile-steps steps after warm-up), plus the JS time outside the ops.
// --memory: 1,000 small steps (convnet, batch 16) on the default backend (or the first of --backends); reports
// tf.memory().numTensors and the process RSS after warm-up and at the end (tensor count must not grow).
import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Rng, initBackend, type BackendName } from '@unigrad/core';
import { ConfigError, exitWithError, fmnist, intFlag, optionalIntFlag, parseCli, resolveConfig, type CliSpec, type PretrainConfig } from '@unigrad/configs';
import { batches, disposeBatch, findFashionMnistDir, loadFashionMnist, twoViews } from '@unigrad/data';
import { augmentConfigFor, buildTraining, disposeState, disposeTraining, stepSeed, trainStep, trunkConfigFor } from '@unigrad/engine';
import type { MethodState } from '@unigrad/losses';
import type { TrunkConfig } from '@unigrad/models';
import {
  describeRecord,
  imagesPerSecond,
  interleavedSchedule,
  loadDuring,
  parsePidStat,
  parseProcStat,
  round1,
  timedSteps,
  trainRecord,
  type LoadSample,
  type RoundResult,
  type SideRounds,
  type Yardstick,
} from './bench-train-lib';

const MODELS = ['convnet', 'resnet18', 'resnet50'] as const;
type ModelName = (typeof MODELS)[number];
const TRAIN_BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu'];
const ROOT = resolve(__dirname, '..');
const DEBIAN_PYTHON = '/usr/bin/python3';
const VENV_PYTHON = join(ROOT, process.env.UNIGRAD_BENCH_VENV ?? '.venv-bench', 'bin', 'python');
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
  /** Default batch and warm-up steps. */
  batch: number;
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
      return { model, description: `fmnist preset encoder: convnet ${(config.model.widths ?? []).join('/')}, 28x28x1, projector ${proj.projectorHidden}/${proj.projectorOut}`, trunk: trunkConfigFor(config), size: 28, channels: 1, ...proj, batch: 256, warmup: 3 };
    case 'resnet18':
      return {
        model,
        description: 'ResNet-18, CIFAR stem, widths 16/32/64/128, 28x28x1',
        trunk: { kind: 'resnet18', stem: 'cifar', widths: narrow, inChannels: 1, zeroInitResidual: true },
        size: 28,
        channels: 1,
        ...proj,
        batch: 128,
        warmup: 2,
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
        warmup: 2,
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Command line.

interface Args {
  models: ModelName[];
  batches?: number[];
  seconds: number;
  rounds: number;
  minSteps: number;
  warmup?: number;
  threads: number;
  backends: BackendName[];
  /** --backends was given: run exactly those (the cpu backend too, at any size). */
  backendsExplicit: boolean;
  json: boolean;
  torch: boolean;
  data: boolean;
  memory: boolean;
  memorySteps: number;
  profile: boolean;
  profileSteps: number;
  /** Seconds a worker may take to build its model and warm up (and, per round, beyond the round's own time). */
  timeout: number;
  worker?: 'train' | 'data' | 'memory' | 'profile';
  workerBackend?: BackendName;
}

const CLI: CliSpec = {
  usage: 'npm run bench:train -- [options]',
  summary:
    "Training-step img/s of the engine's own step on each TF.js backend, interleaved over rounds with PyTorch (the bench:setup venv's 2.x, else Debian's 1.13; same model, batch, step and threads) as the yardstick, with the machine's load per round; --profile shows where a native step's time goes; --memory checks tensors and RSS stay flat.",
  flags: {
    model: { type: 'string', valueName: 'name', multiple: true, description: `model(s): ${MODELS.join(', ')} (comma list allowed) [all]` },
    batch: { type: 'string', valueName: 'n[,n…]', description: 'batch, or a comma list to measure several (default per model: 256 / 128 / 32)' },
    seconds: { type: 'string', valueName: 's', description: 'timed seconds per side per round (at least --min-steps steps) [10]' },
    rounds: { type: 'string', valueName: 'n', description: 'interleaved rounds [3]' },
    'min-steps': { type: 'string', valueName: 'n', description: 'fewest timed steps per side per round [3]' },
    warmup: { type: 'string', valueName: 'n', description: 'warm-up steps per worker, not timed (default per model: 3 / 2 / 2)' },
    threads: { type: 'string', valueName: 'n', description: 'threads for each side (TF intra-op, OpenMP/MKL, torch) [cores available]' },
    backends: { type: 'string', valueName: 'list', description: `comma list of ${TRAIN_BACKENDS.join(',')} [node,wasm; cpu only when named]` },
    timeout: { type: 'string', valueName: 's', description: 'seconds a worker may take to build and warm up, and per round beyond --seconds [300]' },
    'no-torch': { type: 'boolean', description: 'skip the PyTorch yardstick' },
    'no-data': { type: 'boolean', description: 'skip the data-pipeline measurement' },
    json: { type: 'boolean', description: 'one JSON object per measurement' },
    profile: { type: 'boolean', description: 'per-op profile of one native step (first --model, first --batch)' },
    'profile-steps': { type: 'string', valueName: 'n', description: 'steps averaged by --profile [5]' },
    memory: { type: 'boolean', description: '1,000 small steps: live tensors and RSS must stay flat' },
    'memory-steps': { type: 'string', valueName: 'n', description: 'steps of the memory run [1000]' },
    worker: { type: 'string', valueName: 'kind', description: '(internal) run one worker: train | data | memory | profile' },
    'worker-backend': { type: 'string', valueName: 'name', description: '(internal) backend of the worker' },
  },
  exitCodes: { 1: 'runtime error', 2: 'bad usage' },
};

function positiveNumberFlag(flags: Record<string, unknown>, name: string, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`--${name} needs a number > 0, got '${String(raw)}'`);
  return v;
}

function parseArgs(argv: string[]): Args {
  const { flags } = parseCli(argv, CLI);
  const models = ((flags.model as string[] | undefined) ?? []).flatMap((m) => m.split(','));
  for (const m of models) if (!(MODELS as readonly string[]).includes(m)) throw new ConfigError(`unknown model '${m}'; choose from ${MODELS.join(', ')}`);
  const backends = typeof flags.backends === 'string' ? (flags.backends.split(',') as BackendName[]) : (['node', 'wasm', 'cpu'] as BackendName[]);
  for (const b of backends) if (!TRAIN_BACKENDS.includes(b)) throw new ConfigError(`unknown backend '${b}'; choose from ${TRAIN_BACKENDS.join(', ')}`);
  const worker = flags.worker as Args['worker'];
  if (worker !== undefined && !['train', 'data', 'memory', 'profile'].includes(worker)) throw new ConfigError(`unknown worker '${worker}'`);
  let batchList: number[] | undefined;
  if (typeof flags.batch === 'string') {
    batchList = flags.batch.split(',').map((b) => {
      const v = Number(b);
      if (!Number.isInteger(v) || v < 2) throw new ConfigError(`--batch needs integers >= 2, got '${b}'`);
      return v;
    });
  }
  return {
    models: models.length ? (models as ModelName[]) : [...MODELS],
    batches: batchList,
    seconds: positiveNumberFlag(flags, 'seconds', 10),
    rounds: intFlag(flags, 'rounds', 3),
    minSteps: intFlag(flags, 'min-steps', 3),
    warmup: optionalIntFlag(flags, 'warmup', 0),
    threads: intFlag(flags, 'threads', availableParallelism()),
    backends,
    backendsExplicit: typeof flags.backends === 'string',
    json: Boolean(flags.json),
    torch: !flags['no-torch'],
    data: !flags['no-data'],
    memory: Boolean(flags.memory),
    memorySteps: intFlag(flags, 'memory-steps', 1000, 2),
    profile: Boolean(flags.profile),
    profileSteps: intFlag(flags, 'profile-steps', 5),
    timeout: intFlag(flags, 'timeout', 300),
    worker,
    workerBackend: flags['worker-backend'] as BackendName | undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The step (worker side): the engine's own trainStep (libs/engine) for UniGrad grad-mm, on pre-made views.

interface Trainer {
  /** One training step on the given views (tfjs-node and wasm execute eagerly and synchronously: when it resolves, the update has run). */
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
  let state: MethodState = training.method.initialState(training.net.embeddingDim, training.hyper, new Rng(config.seed + 7));
  let step = 0;
  return {
    async step(view1, view2) {
      // trainStep owns (and frees) its views; clones share the data, so the bench can reuse its two tensors. Its
      // one read-back (loss, pos_sim, embedding std) is the only sync, as in training and in the PyTorch step.
      const outcome = await trainStep(training, [view1.clone(), view2.clone()], state, { lr, emaMomentum, rng: new Rng(stepSeed(config.seed, step++)) });
      state = outcome.state;
      return outcome.loss;
    },
    dispose() {
      disposeState(state);
      disposeTraining(training);
    },
  };
}

function makeViews(spec: ModelSpec, batch: number): [tf.Tensor4D, tf.Tensor4D] {
  return [
    tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 1) as tf.Tensor4D,
    tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 2) as tf.Tensor4D,
  ];
}

/**
 * A train worker for one model, batch and backend: builds the trainer, runs the warm-up, prints {ready}, then for
 * each {"seconds": S} line on stdin one timed round as a JSON line; exits on end of input.
 */
async function trainWorker(args: Args): Promise<void> {
  const backend = args.workerBackend!;
  const spec = modelSpec(args.models[0]);
  const batch = args.batches?.[0] ?? spec.batch;
  try {
    await initBackend({ force: backend, log: false });
  } catch (err) {
    emit({ error: firstLine(err) });
    return;
  }
  const [view1, view2] = makeViews(spec, batch);
  let trainer: Trainer | null = null;
  try {
    trainer = makeTrainer(spec);
    const t0 = performance.now();
    let loss = NaN;
    for (let i = 0; i < (args.warmup ?? spec.warmup); i++) loss = await trainer.step(view1, view2);
    emit({ ready: true, warmup_s: (performance.now() - t0) / 1000, backend: tf.getBackend(), loss });
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) {
      if (!line.trim()) continue;
      const req = JSON.parse(line) as { seconds: number; min_steps?: number; cmd?: string };
      if (req.cmd === 'exit') break;
      const t = trainer;
      const r = await timedSteps(async () => (loss = await t.step(view1, view2)), req.seconds, req.min_steps ?? args.minSteps);
      emit({ ...r, loss });
    }
  } catch (err) {
    emit({ error: `cannot train ${spec.model}: ${firstLine(err)}` });
  } finally {
    trainer?.dispose();
    tf.dispose([view1, view2]);
  }
}

/**
 * Per-op profile of a native step: wraps tfjs-node's binding.executeOp (every TF op of the backend, including the
 * fused kernels libs/models calls directly) and accumulates calls and wall time per op name.
 */
async function profileWorker(args: Args): Promise<void> {
  await initBackend({ force: 'node', log: false });
  const spec = modelSpec(args.models[0]);
  const batch = args.batches?.[0] ?? spec.batch;
  const [view1, view2] = makeViews(spec, batch);
  const trainer = makeTrainer(spec);
  for (let i = 0; i < (args.warmup ?? spec.warmup); i++) await trainer.step(view1, view2);
  const backend = tf.backend() as unknown as { binding: Record<string, unknown> };
  const binding = backend.binding;
  const execute = binding.executeOp as (...a: unknown[]) => unknown;
  const ops = new Map<string, { calls: number; ms: number }>();
  const copy: Record<string, unknown> = {};
  for (const k of Object.getOwnPropertyNames(binding)) copy[k] = binding[k];
  copy.executeOp = (name: string, ...rest: unknown[]) => {
    const t0 = performance.now();
    const out = execute(name, ...rest);
    const s = ops.get(name) ?? { calls: 0, ms: 0 };
    s.calls++;
    s.ms += performance.now() - t0;
    ops.set(name, s);
    return out;
  };
  backend.binding = copy; // the addon's own object is frozen; the backend reads its `binding` field on every call
  const tensors0 = tf.memory().numTensors;
  const load0 = loadavg()[0];
  const steps = args.profileSteps;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) await trainer.step(view1, view2);
  const stepMs = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  backend.binding = binding;
  const rows = [...ops.entries()].map(([op, s]) => ({ op, calls: s.calls / steps, ms: s.ms / steps })).sort((a, b) => b.ms - a.ms);
  const opMs = rows.reduce((a, r) => a + r.ms, 0);
  emit({
    bench: 'profile',
    model: spec.model,
    batch,
    backend: 'node',
    steps,
    step_ms: round1(stepMs),
    cpu_ms: round1(cpuMs),
    op_ms: round1(opMs),
    outside_ops_ms: round1(stepMs - opMs),
    ops_per_step: rows.reduce((a, r) => a + r.calls, 0),
    tensors_before: tensors0,
    tensors_after: tf.memory().numTensors,
    loadavg1: [load0, loadavg()[0]],
    ops: rows.map((r) => ({ ...r, ms: Math.round(r.ms * 100) / 100, share: Math.round((1000 * r.ms) / opMs) / 10 })),
  });
  trainer.dispose();
  tf.dispose([view1, view2]);
}

/** Data pipeline: images/s of Fashion-MNIST batches → two augmented views (fmnist preset's augmentation). */
async function dataWorker(args: Args): Promise<void> {
  const choice = await initBackend({ log: false });
  const config = benchConfig();
  const batchSize = args.batches?.[0] ?? config.optim.batchSize;
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
  emit({ bench: 'data', model: 'data-pipeline', batch: batchSize, backend: choice.name, status: 'ok', img_per_s: round1(perS), batches: count });
}

/** 1,000 small steps: live tensors and RSS after warm-up and at the end. */
async function memoryWorker(args: Args): Promise<void> {
  const choice = await initBackend({ force: args.workerBackend, log: false });
  const spec = modelSpec(args.models[0] ?? 'convnet');
  const batch = args.batches?.[0] ?? 16;
  const total = args.memorySteps;
  const view1 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const view2 = tf.randomNormal([batch, spec.size, spec.size, spec.channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  const trainer = makeTrainer(spec);
  const warm = Math.min(10, total - 1);
  const sample = (step: number) => ({ step, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes, rss_mb: round1(process.memoryUsage().rss / 2 ** 20) });
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
    seconds: round1(seconds),
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

function emit(record: object): void {
  // Workers always speak JSON lines to the parent.
  console.log(JSON.stringify(record));
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

// ---------------------------------------------------------------------------------------------------------
// Parent: long-lived workers spoken to in JSON lines, the interleaved rounds, the load per slot.

/** A child process that answers one JSON line per JSON request line (after one {ready} line). */
class LineWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string | null) => void)[] = [];
  private readonly lines: string[] = [];
  private stderr = '';
  private closed = false;

  constructor(
    readonly label: string,
    command: string,
    argv: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.child.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
    this.child.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The next JSON line, or an error after `timeoutS` or when the process ends. */
  async next(timeoutS: number): Promise<Record<string, unknown>> {
    const queued = this.lines.shift();
    const line =
      queued ??
      (this.closed
        ? null
        : await new Promise<string | null | 'timeout'>((res) => {
            const timer = setTimeout(() => {
              const i = this.waiting.indexOf(done);
              if (i >= 0) this.waiting.splice(i, 1);
              res('timeout');
            }, timeoutS * 1000);
            const done = (l: string | null) => {
              clearTimeout(timer);
              res(l);
            };
            this.waiting.push(done);
          }));
    if (line === 'timeout') {
      this.kill();
      throw new Error(`${this.label}: no answer within ${timeoutS} s (raise --timeout to wait longer)`);
    }
    if (line === null) throw new Error(`${this.label} exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    const rec = JSON.parse(line) as Record<string, unknown>;
    if (rec.error) throw new Error(String(rec.error));
    return rec;
  }

  send(request: object): void {
    this.child.stdin.write(JSON.stringify(request) + '\n');
  }

  close(): void {
    if (!this.closed) this.child.stdin.end();
  }

  kill(): void {
    if (!this.closed) this.child.kill('SIGKILL');
  }
}

/** The environment of every measured process: the same threads and wait policy for both sides. */
function sideEnv(threads: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const t = String(threads);
  return {
    ...process.env,
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
    OMP_NUM_THREADS: t,
    MKL_NUM_THREADS: t,
    TF_NUM_INTRAOP_THREADS: t,
    TF_NUM_INTEROP_THREADS: process.env.TF_NUM_INTEROP_THREADS ?? t,
    TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
    ...extra,
  };
}

function readCounters(pid: number | undefined): { cpu: ReturnType<typeof parseProcStat>; own: number } | null {
  try {
    return { cpu: parseProcStat(readFileSync('/proc/stat', 'utf8')), own: pid ? parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) : 0 };
  } catch {
    return null;
  }
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const v = Number(r.stdout);
  return Number.isFinite(v) && v > 0 ? v : 100;
})();

/** Runs one timed round on `worker` and samples the machine's load around it. */
async function timedSlot(worker: LineWorker, seconds: number, minSteps: number, timeoutS: number): Promise<RoundResult & { load: LoadSample }> {
  const before = readCounters(worker.pid);
  const wall0 = performance.now();
  worker.send({ seconds, min_steps: minSteps });
  const rec = (await worker.next(seconds * 3 + timeoutS)) as unknown as RoundResult;
  const wall = (performance.now() - wall0) / 1000;
  const after = readCounters(worker.pid);
  const usage = before && after ? loadDuring(before, after, wall, CLK_TCK) : { foreign_cpu: null, steal_cpu: null };
  return { steps: rec.steps, seconds: rec.seconds, step_ms: rec.step_ms, cpu_s: rec.cpu_s, load: { loadavg1: Math.round(loadavg()[0] * 100) / 100, ...usage } };
}

/** The yardstick interpreter: UNIGRAD_BENCH_PYTHON, the bench:setup venv, or Debian's python3 with python3-torch. */
function findYardstick(): { info: Yardstick } | { reason: string } {
  const script = join(__dirname, 'bench_train_torch.py');
  const candidates: [string, Yardstick['source']][] = [];
  if (process.env.UNIGRAD_BENCH_PYTHON) candidates.push([process.env.UNIGRAD_BENCH_PYTHON, 'venv']);
  if (existsSync(VENV_PYTHON)) candidates.push([VENV_PYTHON, 'venv']);
  if (existsSync(DEBIAN_PYTHON)) candidates.push([DEBIAN_PYTHON, 'debian']);
  const problems: string[] = [];
  for (const [python, source] of candidates) {
    const res = spawnSync(python, [script, '--info'], { encoding: 'utf8' });
    const rec = res.stdout.split('\n').find((l) => l.startsWith('{'));
    const info = rec ? (JSON.parse(rec) as Record<string, string>) : null;
    if (res.status === 0 && info && !info.error) return { info: { source, python, version: info.torch, blas: info.blas, isa: info.isa } };
    problems.push(`${python}: ${info?.error ?? res.stderr.trim().split('\n').at(-1) ?? 'failed'}`);
  }
  return { reason: `no PyTorch found (npm run bench:setup for PyTorch 2.x; or apt-get install python3-torch)${problems.length ? `: ${problems.join('; ')}` : ''}` };
}

function torchSpec(spec: ModelSpec, batch: number): object {
  const config = modelConfig(spec);
  return {
    trunk: spec.trunk.kind,
    widths: spec.trunk.widths ?? [32, 64, 128],
    channels: spec.channels,
    size: spec.size,
    projector_hidden: spec.projectorHidden,
    projector_out: spec.projectorOut,
    batch,
    lambda: config.loss.lambda,
    rho: config.loss.rho,
    lr: (config.optim.baseLr * config.optim.batchSize) / 256,
    ema: config.optim.baseMomentum,
  };
}

function workerArgv(kind: string, backend: string, model: ModelName, batch: number, args: Args, extra: string[] = []): string[] {
  const tsNode = require.resolve('ts-node/dist/bin.js');
  const argv = [tsNode, '--transpile-only', __filename, '--worker', kind, '--worker-backend', backend, '--model', model, '--batch', String(batch), '--min-steps', String(args.minSteps)];
  if (args.warmup !== undefined) argv.push('--warmup', String(args.warmup));
  return [...argv, ...extra];
}

type SideOutcome = { side: string; status: 'ok'; rounds: SideRounds } | { side: string; status: 'unavailable' | 'skipped'; reason: string };

/** One model at one batch: start every side, warm each up, run the interleaved rounds, return each side's rounds. */
async function measure(model: ModelName, batch: number, args: Args, yardstick: { info: Yardstick } | null, log: (line: string) => void): Promise<SideOutcome[]> {
  const spec = modelSpec(model);
  const outcomes: SideOutcome[] = [];
  const workers = new Map<string, LineWorker>();
  for (const backend of args.backends) {
    if (backend === 'cpu' && !args.backendsExplicit) {
      outcomes.push({ side: backend, status: 'skipped', reason: 'the pure-JS cpu backend needs minutes per step at this size (time it with --backends cpu --batch 16)' });
    } else if (backend === 'wasm' && model !== 'convnet' && !args.backendsExplicit) {
      outcomes.push({ side: backend, status: 'skipped', reason: 'minutes per step on wasm; time it with --backends wasm' });
    } else {
      workers.set(backend, new LineWorker(`${backend} worker`, process.execPath, workerArgv('train', backend, model, batch, args), sideEnv(args.threads)));
    }
  }
  if (yardstick) {
    const script = join(__dirname, 'bench_train_torch.py');
    const argv = [script, '--serve', '--spec', JSON.stringify(torchSpec(spec, batch)), '--threads', String(args.threads), '--warmup', String(args.warmup ?? spec.warmup), '--min-steps', String(args.minSteps)];
    workers.set('pytorch', new LineWorker('pytorch worker', yardstick.info.python, argv, sideEnv(args.threads)));
  }
  // Warm-ups run one side at a time too (each worker builds, then waits for the go-ahead of its first request):
  // workers start concurrently, so the first ready lines overlap; they are excluded from timing anyway.
  const ready: string[] = [];
  for (const [side, w] of workers) {
    try {
      await w.next(args.timeout);
      ready.push(side);
    } catch (err) {
      w.kill();
      outcomes.push({ side, status: 'unavailable', reason: firstLine(err) });
    }
  }
  const results = new Map<string, SideRounds>(ready.map((side) => [side, { side, batch, rounds: [] }]));
  for (const slot of interleavedSchedule(ready, args.rounds)) {
    const w = workers.get(slot.side)!;
    const r = results.get(slot.side);
    if (!r) continue; // failed in an earlier round
    try {
      const res = await timedSlot(w, args.seconds, args.minSteps, args.timeout);
      const img = imagesPerSecond(batch, res);
      r.rounds.push({ ...res, round: slot.round, img_per_s: img });
      log(`    round ${slot.round + 1} ${slot.side.padEnd(8)} ${round1(img).toFixed(1).padStart(8)} img/s  ${res.steps} steps in ${res.seconds.toFixed(1)} s  load avg ${res.load.loadavg1.toFixed(2)}${res.load.foreign_cpu !== null ? `, others ${res.load.foreign_cpu.toFixed(2)} cores` : ''}`);
    } catch (err) {
      results.delete(slot.side);
      w.kill();
      outcomes.push({ side: slot.side, status: 'unavailable', reason: firstLine(err) });
    }
  }
  for (const w of workers.values()) w.close();
  for (const [side, rounds] of results) outcomes.push({ side, status: 'ok', rounds });
  return outcomes;
}

async function runProfile(args: Args): Promise<void> {
  const model = args.models[0];
  const batch = args.batches?.[0] ?? modelSpec(model).batch;
  const w = new LineWorker('profile worker', process.execPath, workerArgv('profile', 'node', model, batch, args, ['--profile-steps', String(args.profileSteps)]), sideEnv(args.threads));
  const r = (await w.next(args.timeout + 60 * args.profileSteps)) as Record<string, unknown> & { ops: { op: string; calls: number; ms: number; share: number }[] };
  w.close();
  if (args.json) {
    console.log(JSON.stringify({ ...r, threads: args.threads }));
    return;
  }
  const load = r.loadavg1 as number[];
  console.log(
    `[bench:train] profile: ${model} batch ${batch} on node, ${args.threads} threads, mean of ${r.steps} steps: ${r.step_ms} ms/step (${r.cpu_ms} CPU-ms), ${r.op_ms} ms in ${r.ops_per_step} TF ops, ${r.outside_ops_ms} ms outside them (JS, tape, tensor bookkeeping); tensors ${r.tensors_before} → ${r.tensors_after}; load average ${load[0].toFixed(2)} → ${load[1].toFixed(2)}`,
  );
  console.log(`  ${'op'.padEnd(28)} ${'calls'.padStart(6)} ${'ms/step'.padStart(9)} ${'share'.padStart(6)}`);
  for (const o of r.ops) if (o.ms >= 0.05) console.log(`  ${o.op.padEnd(28)} ${String(o.calls).padStart(6)} ${o.ms.toFixed(2).padStart(9)} ${`${o.share.toFixed(1)}%`.padStart(6)}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) {
    if (args.worker === 'train') await trainWorker(args);
    else if (args.worker === 'profile') await profileWorker(args);
    else if (args.worker === 'data') await dataWorker(args);
    else if (args.worker === 'memory') await memoryWorker(args);
    // The wasm backend's pthread workers keep the event loop alive after the work is done; stdout to a pipe is
    // synchronous on Linux, so everything printed has been written.
    process.exit(0);
  }

  const out = (line: string) => {
    if (!args.json) console.log(line);
  };
  if (args.profile) return runProfile(args);

  if (args.memory) {
    const backend = args.backendsExplicit ? args.backends[0] : undefined;
    out(`[bench:train] memory: ${args.memorySteps} steps of ${args.models[0] ?? 'convnet'} (batch ${args.batches?.[0] ?? 16}) on the ${backend ?? 'default'} backend…`);
    const forward = ['--worker', 'memory', '--memory-steps', String(args.memorySteps), '--model', args.models[0] ?? 'convnet'];
    if (backend) forward.push('--worker-backend', backend);
    if (args.batches) forward.push('--batch', String(args.batches[0]));
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


  const cores = availableParallelism();
  const found = args.torch ? findYardstick() : { reason: 'disabled by --no-torch' };
  const yardstick = 'info' in found ? found : null;
  out(
    `[bench:train] UniGrad grad-mm step (two views, projector, EMA target, SGD momentum 0.9 wd 1e-4); ${cores} cores, ${args.threads} threads per side, ` +
      `${args.seconds} s per side per round, ${args.rounds} interleaved rounds; load average now ${loadavg()[0].toFixed(2)}`,
  );
  if (yardstick) {
    const { info } = yardstick;
    out(`PyTorch yardstick: torch ${info.version} (${info.source === 'venv' ? 'bench:setup venv' : "Debian's python3-torch: a weak build; npm run bench:setup for PyTorch 2.x"}), BLAS ${info.blas}, ISA ${info.isa}, ${info.python}`);
  } else out(`PyTorch yardstick unavailable: ${'reason' in found ? found.reason : ''}`);

  for (const model of args.models) {
    const spec = modelSpec(model);
    for (const batch of args.batches ?? [spec.batch]) {
      out(`\n${model} (${spec.description}), batch ${batch}:`);
      const outcomes = await measure(model, batch, args, yardstick, out);
      const torch = outcomes.find((o) => o.side === 'pytorch');
      const torchRounds = torch?.status === 'ok' ? { info: yardstick!.info, rounds: torch.rounds } : null;
      if (yardstick && torch?.status !== 'ok') out(`  pytorch  unavailable: ${torch && 'reason' in torch ? torch.reason : 'not run'}`);
      const order = ['pytorch', ...args.backends];
      let warning: string | null = null;
      for (const o of [...outcomes].sort((a, b) => order.indexOf(a.side) - order.indexOf(b.side))) {
        if (o.status !== 'ok') {
          if (o.side === 'pytorch') continue;
          if (args.json) console.log(JSON.stringify({ bench: 'train', model, batch, backend: o.side, status: o.status, reason: o.reason }));
          out(`  ${o.side.padEnd(8)} ${o.status}: ${o.reason}`);
          continue;
        }
        const rec = trainRecord(model, o.rounds, torchRounds, { threads: args.threads, cores, secondsPerRound: args.seconds });
        if (args.json) console.log(JSON.stringify(rec));
        out(`  ${o.side.padEnd(8)} ${describeRecord(rec)}`);
        warning ??= rec.load_warning;
      }
      if (warning) out(`  WARNING: ${warning}`);
    }
  }

  if (args.data) {
    let records: Record<string, unknown>[];
    try {
      const w = new LineWorker('data worker', process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', __filename, '--worker', 'data'], process.env);
      records = [await w.next(args.timeout)];
      w.close();
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
