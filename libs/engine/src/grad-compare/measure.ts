// One checkpoint → one comparison record: the checkpoint's network (online, momentum, predictor as it was trained)
// forwarded in train mode on fixed batches of its own data and augmentation, then gradCompareBatch + the report.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@unigrad/core';
import { hyperOf, type PretrainConfig } from '@unigrad/configs';
import { batches, disposeBatch } from '@unigrad/data';
import { defaultHyper, getMethod, normalizeRows, targetCorrelation, type Form, type Hyper, type Method, type TargetMode } from '@unigrad/losses';
import { SiameseNet, loadCheckpoint, storedToTensor } from '@unigrad/models';
import { pretrainMeta } from '../checkpoint';
import { openDataset } from '../datasets';
import { trunkConfigFor } from '../setup';
import { scheduleOf, stepSeed } from '../train';
import { makeAugmenter } from '../views';
import { TARGET_MODES, gradCompareBatch, type BatchEmbeddings } from './gradients';
import { GradCompareAccumulator, allCosines, type ContextReport } from './report';

/** What every number of a record is computed on (also written into the record). */
export const QUANTITY =
  'g_i = 2n·‖p_i‖·∂L/∂p_i projected on the tangent plane at z_i = p_i/‖p_i‖, i.e. (I − z_i z_iᵀ)·2n·∂L/∂z_i for losses of z ' +
  '(for a gradient form: the tangent part of its G_i); view-1 and view-2 rows stacked (2n samples per batch). Positive part: ' +
  'the projection of g_i on t⊥_i = (I − z_i z_iᵀ)·t_i, t_i the other view\'s target (z2m/z1m in mm, sg(z2)/sg(z1) in no_mm); ' +
  'negative part: the rest. Cosines: per sample, then averaged over all samples. λ fit: least squares of the negative part on ' +
  'the negative part of (I − zzᵀ)·F·z with UniGrad\'s F (after this batch\'s update), divided by the pull coefficient (fit of g ' +
  'on −t⊥), relative to UniGrad\'s.';

export interface GradCompareRecord {
  kind: 'unigrad-grad-compare';
  version: 1;
  checkpoint: {
    path: string;
    step: number;
    epoch: number;
    method: string;
    form: PretrainConfig['form'];
    target: PretrainConfig['target'];
    cutmix: boolean;
    preset: string;
    dataset: string;
    seed: number;
    embeddingDim: number;
    hasMomentumEncoder: boolean;
    hasPredictor: boolean;
  };
  /** Batches measured, their size, and how they were drawn. */
  batches: number;
  batchSize: number;
  data: string;
  quantity: string;
  /** Where the F state (UniGrad, DirectPred) and the MoCo queue came from. */
  states: { F: string; queue: string };
  /** Hyper-parameters used, by `<method>:<form>`. */
  hyper: Record<string, Hyper>;
  contexts: ContextReport[];
  createdAt: string;
}

export interface MeasureOptions {
  /** Batches to measure (default 4; at most one epoch). */
  batches?: number;
  log?: (message: string) => void;
  /** The methods to compare (default: every registered method). */
  methods?: readonly Method[];
}

/** A method's hyper-parameters in a form, as the checkpoint's config would resolve them. */
export function hyperFor(config: PretrainConfig, method: Method, form: Form): Hyper {
  if (method.name === config.method && form === config.form) return hyperOf(config);
  return defaultHyper(method, form, { dim: config.model.projectorOut, batchSize: config.optim.batchSize, scaleWithDim: config.loss.scaleLambdaWithDim });
}

/** Keeps the last `cap` rows of the stacked key blocks (the newest, as MoCo's queue does). */
function stackKeys(blocks: tf.Tensor2D[], cap: number): tf.Tensor2D | undefined {
  if (blocks.length === 0) return undefined;
  return tf.tidy(() => {
    const all = tf.concat(blocks, 0) as tf.Tensor2D;
    const rows = all.shape[0];
    return rows > cap ? all.slice([rows - cap, 0], [cap, all.shape[1]]) : all;
  });
}

export async function gradCompareCheckpoint(path: string, options: MeasureOptions = {}): Promise<GradCompareRecord> {
  const log = options.log ?? (() => undefined);
  const checkpoint = loadCheckpoint(path);
  const meta = pretrainMeta(checkpoint.meta, path);
  const config = meta.config;
  const keys = Object.keys(checkpoint.tensors);
  const hasMomentum = keys.some((k) => k.startsWith('momentum_encoder.'));
  const hasPredictor = keys.some((k) => k.startsWith('predictor.'));
  const net = new SiameseNet(
    {
      trunk: trunkConfigFor(config),
      projector: { hiddenDim: config.model.projectorHidden, outputDim: config.model.projectorOut },
      predictor: hasPredictor ? { hiddenDim: config.model.predictorHidden } : null,
      momentum: hasMomentum,
    },
    new Rng(config.seed),
  );
  const tensors: BatchEmbeddings[] = [];
  const stateTensors: tf.Tensor2D[] = [];
  try {
    net.loadFromCheckpoint(Object.fromEntries(Object.entries(checkpoint.tensors).filter(([k]) => !k.startsWith('optim.') && !k.startsWith('state.'))));
    const storedF = checkpoint.tensors['state.F'];
    const storedQueue = checkpoint.tensors['state.queue'];

    // ---- the same batches for every checkpoint: epoch 0's first N training batches, each with the training
    //      augmentation of its step (rng = stepSeed(seed, k)), so a run's checkpoints are measured on one data set ----
    const train = await openDataset(config, 'train');
    const { imagesPerEpoch, stepsPerEpoch } = scheduleOf(config, train.n);
    const count = Math.min(options.batches ?? 4, stepsPerEpoch);
    const augment = makeAugmenter(config, train);
    const source = batches(train, { batchSize: config.optim.batchSize, seed: config.seed, epoch: 0, dropLast: true, subset: config.data.subset !== undefined ? imagesPerEpoch : undefined });
    let k = 0;
    for await (const batch of source) {
      if (k >= count) {
        disposeBatch(batch);
        break;
      }
      const [view1, view2] = augment(batch, new Rng(stepSeed(config.seed, k)));
      disposeBatch(batch);
      const o1 = net.forwardOnline(view1, 'train');
      const o2 = net.forwardOnline(view2, 'train');
      const embeddings: BatchEmbeddings = { p1: o1.projection, p2: o2.projection };
      tf.dispose([o1.features, o2.features, ...(net.predictor ? [o1.p, o2.p] : [])]);
      if (net.hasTarget) {
        embeddings.p1m = net.forwardTarget(view1);
        embeddings.p2m = net.forwardTarget(view2);
      }
      tf.dispose([view1, view2]);
      tensors.push(embeddings);
      k++;
    }
    log(`[grad-compare] ${path}: step ${meta.step}, ${tensors.length} batch(es) of ${config.optim.batchSize}`);

    // ---- states: the checkpoint's, else estimates from the measured batches ----
    const targetsOf = (e: BatchEmbeddings, target: TargetMode): [tf.Tensor2D, tf.Tensor2D] =>
      target === 'mm' ? [normalizeRows(e.p1m as tf.Tensor2D), normalizeRows(e.p2m as tf.Tensor2D)] : [normalizeRows(e.p1), normalizeRows(e.p2)];
    const contextsWithTargets = TARGET_MODES.filter((t) => t === 'no_mm' || hasMomentum);
    const F: Partial<Record<TargetMode, tf.Tensor2D>> = {};
    let fSource: string;
    if (storedF) {
      const stored = storedToTensor(storedF) as tf.Tensor2D;
      stateTensors.push(stored);
      for (const t of contextsWithTargets) F[t] = stored;
      fSource = "the checkpoint's state.F (updated with each batch's target correlation before use, ρ as configured)";
    } else {
      for (const t of contextsWithTargets) {
        F[t] = tf.tidy(() => tf.addN(tensors.map((e) => targetCorrelation(...targetsOf(e, t)))).div(tensors.length) as tf.Tensor2D);
        stateTensors.push(F[t] as tf.Tensor2D);
      }
      fSource = `the checkpoint has no F (a ${config.method} run): the mean target correlation of the ${tensors.length} measured batches stands in for the EMA, then each batch updates it as usual`;
    }
    const moco = getMethod('moco');
    const queueCap = hyperFor(config, moco, 'grad').queueSize ?? 4096;
    let queueSource: string;
    let checkpointQueue: tf.Tensor2D | undefined;
    const queueFor = (index: number): Partial<Record<TargetMode, tf.Tensor2D>> => {
      const out: Partial<Record<TargetMode, tf.Tensor2D>> = {};
      for (const t of contextsWithTargets) {
        const blocks = tensors.flatMap((e, j) => (j === index ? [] : targetsOf(e, t)));
        const q = stackKeys(blocks, queueCap);
        tf.dispose(blocks);
        if (q) out[t] = q;
      }
      return out;
    };
    if (storedQueue) {
      checkpointQueue = storedToTensor(storedQueue) as tf.Tensor2D;
      stateTensors.push(checkpointQueue);
      queueSource = `the checkpoint's state.queue (${checkpointQueue.shape[0]} keys), in both contexts`;
    } else {
      queueSource =
        tensors.length > 1
          ? `the checkpoint has no queue: each batch's queue is the keys (targets of the context) of the other ${tensors.length - 1} measured batches, up to ${queueCap} rows`
          : 'n/a: the checkpoint has no queue and a single batch gives no other keys (use --batches ≥ 2)';
    }

    // ---- per batch: every method × form × context ----
    const hyperCache = new Map<string, Hyper>();
    const hyper = (m: Method, form: Form) => {
      const key = `${m.name}:${form}`;
      if (!hyperCache.has(key)) hyperCache.set(key, hyperFor(config, m, form));
      return hyperCache.get(key);
    };
    const predictor = net.predictor;
    const accumulator = new GradCompareAccumulator();
    for (const [index, embeddings] of tensors.entries()) {
      const shared = checkpointQueue;
      const queue: Partial<Record<TargetMode, tf.Tensor2D>> = shared ? Object.fromEntries(contextsWithTargets.map((t) => [t, shared])) : queueFor(index);
      try {
        accumulator.add(gradCompareBatch(embeddings, { F, queue }, { methods: options.methods, hyper, predictor: predictor ? (p) => predictor.apply(p, 'train') : undefined }));
      } finally {
        if (!shared) tf.dispose(Object.values(queue));
      }
      log(`[grad-compare]   batch ${index + 1}/${tensors.length} done`);
    }
    const contexts = accumulator.report();
    for (const c of allCosines(contexts)) if (!(c >= -1 && c <= 1)) throw new Error(`grad-compare: cosine ${c} outside [−1, 1]`);
    return {
      kind: 'unigrad-grad-compare',
      version: 1,
      checkpoint: {
        path,
        step: meta.step,
        epoch: meta.epoch,
        method: config.method,
        form: config.form,
        target: config.target,
        cutmix: config.cutmix,
        preset: config.preset,
        dataset: config.data.dataset,
        seed: config.seed,
        embeddingDim: config.model.projectorOut,
        hasMomentumEncoder: hasMomentum,
        hasPredictor,
      },
      batches: tensors.length,
      batchSize: config.optim.batchSize,
      data:
        `the first ${tensors.length} training batches of epoch 0 (seed ${config.seed}${config.data.subset !== undefined ? `, subset ${imagesPerEpoch}` : ''}) with the training ` +
        'augmentation of steps 0..N−1; online and momentum networks in train mode (batch statistics, one view at a time), no EMA update',
      quantity: QUANTITY,
      states: { F: fSource, queue: queueSource },
      hyper: Object.fromEntries(hyperCache),
      contexts,
      createdAt: new Date().toISOString(),
    };
  } finally {
    for (const e of tensors) tf.dispose([e.p1, e.p2, e.p1m, e.p2m].filter((t): t is tf.Tensor2D => t !== undefined));
    tf.dispose(stateTensors);
    net.dispose();
  }
}
