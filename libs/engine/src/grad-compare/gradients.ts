// The gradient every registered method sends to the online embeddings of one batch, for every form and both
// target modes, by autodiff (tfjs): the original loss as it is, the gradient form through its surrogate.
//
// WHAT IS COMPARED. For a loss L of the online projector outputs p (n×D per view) we take
//
//     g_i = 2n · ‖p_i‖ · ∂L/∂p_i
//
// and keep its tangent part (I − z_i z_iᵀ) g_i, z_i = p_i/‖p_i‖. For a loss of the normalised z only (every
// gradient form, and the originals of MoCo, SimCLR, BYOL/SimSiam with a linear predictor) this is exactly
// (I − z_i z_iᵀ)·2n·∂L/∂z_i, and for a gradient form it is the tangent part of the paper's G_i (spec §2:
// ∂L/∂z_i = G_i/(2n)). The tangent part is what the normalisation passes on to the network: two gradients that
// differ only along z_i train identically, so comparing raw G would count UniGrad's radial term (−<t,z> + λ zᵀFz)·z
// against DirectPred's exactly tangent g (spec §3.3) for a component with no effect. The scale-dependent originals
// (Barlow Twins and VICReg on raw, standardised outputs; BYOL/SimSiam through a learned predictor MLP) also have a
// radial part, which changes ‖p‖; it is reported (radialFraction) and left out of the comparison.
//
// BOTH BRANCHES. A gradient form's ∂L/∂z1_i has only the anchor terms (targets, candidates and banks are
// constants). Originals whose both views carry gradient (SimCLR's NT-Xent, Barlow Twins, VICReg) also send z1_i
// the terms where it is someone else's positive or negative; ∂L/∂p1 here is that full gradient, i.e. what the
// network receives. View 1 and view 2 rows are stacked into 2n samples.
//
// TARGETS. In the `mm` context the target of view 1 is the momentum output z1m, in `no_mm` it is sg(z1) (spec §6.2).
// Originals with an EMA target (MoCo, BYOL) use the context's target; the others (SimCLR, SimSiam, Barlow Twins,
// VICReg) do not depend on it and are the same numbers in both contexts.
import * as tf from '@tensorflow/tfjs';
import { LossInputError, directPredMatrices, getMethod, listMethods, targetCorrelation, updateF, normalizeRows as normalizeRowsTf, type Form, type Hyper, type LossInputs, type Method, type MethodState, type TargetMode } from '@unigrad/losses';
import { dot, norm, type Rows } from './vectors';

/** Which loss of a method an entry is: its gradient form, its original loss, or the original with the analytic W_p predictor. */
export type Variant = 'grad' | 'original' | 'original-wp';

export const TARGET_MODES: readonly TargetMode[] = ['mm', 'no_mm'];

/** The id of UniGrad's gradient form, the reference of every comparison. */
export const REFERENCE_ID = 'unigrad:grad';

export interface EntrySpec {
  /** `<method>:<variant>`, unique within a target context. */
  id: string;
  method: string;
  /** As the paper's table prints it, plus the variant. */
  label: string;
  variant: Variant;
  /** What this entry's gradient is, in one sentence. */
  description: string;
}

/** The embeddings of one batch (raw projector outputs; the caller owns and disposes them). */
export interface BatchEmbeddings {
  p1: tf.Tensor2D;
  p2: tf.Tensor2D;
  /** Momentum-encoder outputs; absent (no momentum encoder) makes the whole `mm` context n/a. */
  p1m?: tf.Tensor2D;
  p2m?: tf.Tensor2D;
}

export interface CompareStates {
  /** The F state before this batch (UniGrad / DirectPred) per target context; absent = first call, F := this batch's correlation. */
  F?: Partial<Record<TargetMode, tf.Tensor2D>>;
  /** MoCo keys per target context (oldest first); absent makes the MoCo cells of that context n/a. */
  queue?: Partial<Record<TargetMode, tf.Tensor2D>>;
}

export interface CompareOptions {
  /** The methods to compare (default: every registered method). UniGrad is always the reference. */
  methods?: readonly Method[];
  /** Hyper-parameters of a method in a form (default: the method's own defaults). */
  hyper?: (method: Method, form: Form) => Hyper | undefined;
  /** The learned predictor q = h(p) for the originals that need one (BYOL, SimSiam); absent = those cells are n/a. */
  predictor?: (p: tf.Tensor2D) => tf.Tensor2D;
}

export interface EntryGradient {
  spec: EntrySpec;
  /** g_i = 2n·‖p_i‖·∂L/∂p_i (2n×D, view 1 rows then view 2), not yet projected; null when n/a. */
  gradient: Rows | null;
  /** Why the entry is n/a. */
  unavailable?: string;
}

export interface ContextGradients {
  target: TargetMode;
  /** False when the context cannot be formed (no momentum outputs for `mm`). */
  available: boolean;
  reason?: string;
  /** Online unit embeddings, 2n×D (view 1 rows, then view 2). */
  z: Rows;
  /** The other view's target of every row: rows of z2m then z1m (mm) or sg(z2) then sg(z1) (no_mm). */
  t: Rows;
  /** UniGrad's F after this batch's update, as its gradient uses it (D×D). */
  F: Rows;
  /** UniGrad's λ. */
  lambda: number;
  entries: EntryGradient[];
}

function variantsOf(method: Method): Variant[] {
  const variants: Variant[] = ['grad'];
  if (method.hasOriginal) variants.push('original');
  if (method.hasOriginal && method.originalNeeds.predictor) variants.push('original-wp');
  return variants;
}

function describe(method: Method, variant: Variant): string {
  if (variant === 'grad') return `${method.label}'s gradient form: the gradient of its surrogate 0.5·(mean <sg(G1), z1> + mean <sg(G2), z2>).`;
  if (variant === 'original-wp') {
    return `${method.label}'s original loss with the analytic DirectPred predictor h(u) = W_p·u (W_p = (F/s_max)^{1/2} + εI from the same F, held fixed; spec §5 second variant): its exact gradient, of which the official gradient form is the A ≈ W_p² approximation.`;
  }
  const target = method.originalNeeds.target === 'ema' ? 'the context target' : method.originalNeeds.target === 'stopgrad' ? 'stop-gradient online targets in both contexts' : 'no target (both views carry gradient)';
  return `${method.label}'s original loss by autodiff (${target}${method.originalNeeds.predictor ? ', through the learned predictor' : ''}).`;
}

/** The entries compared in each context, in table order. */
export function entrySpecs(methods: readonly Method[] = listMethods()): EntrySpec[] {
  return methods.flatMap((m) =>
    variantsOf(m).map((variant) => ({
      id: `${m.name}:${variant}`,
      method: m.name,
      label: variant === 'grad' ? `${m.label} grad` : variant === 'original' ? `${m.label} orig` : `${m.label} orig (W_p)`,
      variant,
      description: describe(m, variant),
    })),
  );
}

/** Whether a method keeps a queue (MoCo): its initial state, asked for a 1-row queue, has one. */
function needsQueue(method: Method, dim: number, hyper: Hyper | undefined): boolean {
  const probe = method.initialState(dim, { ...hyper, queueSize: 1 }, { normal: () => 1 });
  const has = probe.queue !== undefined;
  tf.dispose(Object.values(probe).filter((v): v is tf.Tensor2D => v instanceof tf.Tensor));
  return has;
}

/** Rows of g_i = 2n·‖p_i‖·∂L/∂p_i for both views, by autodiff of `loss` w.r.t. p1 and p2. */
function inputGradient(p1: tf.Tensor2D, p2: tf.Tensor2D, loss: (v1: tf.Tensor2D, v2: tf.Tensor2D) => tf.Scalar): Rows {
  const v1 = tf.variable(p1, true);
  const v2 = tf.variable(p2, true);
  try {
    const { value, grads } = tf.variableGrads(() => loss(v1, v2), [v1, v2]);
    const n = p1.shape[0];
    const rows: Rows = [];
    for (const [v, p] of [
      [v1, p1],
      [v2, p2],
    ] as const) {
      const g = grads[v.name];
      const G = g ? (g.arraySync() as number[][]) : (tf.zerosLike(p).arraySync() as number[][]);
      const P = p.arraySync() as number[][];
      for (let i = 0; i < n; i++) {
        const scale = 2 * n * Math.max(norm(P[i]), 1e-12);
        rows.push(G[i].map((x) => x * scale));
      }
    }
    tf.dispose([value, ...Object.values(grads)]);
    return rows;
  } finally {
    v1.dispose();
    v2.dispose();
  }
}

/**
 * The gradients of every method × variant on one batch, in both target contexts (see the top of this file for
 * exactly what is computed). Pure apart from tfjs: no tensor of the caller is modified or disposed.
 */
export function gradCompareBatch(embeddings: BatchEmbeddings, states: CompareStates = {}, options: CompareOptions = {}): ContextGradients[] {
  const methods = options.methods ?? listMethods();
  const hyperOf = (m: Method, form: Form) => options.hyper?.(m, form);
  const unigrad = getMethod('unigrad');
  const uniHyper = { ...unigrad.defaults, ...hyperOf(unigrad, 'grad') };
  const lambda = uniHyper.lambda as number;
  const rho = uniHyper.rho as number;
  const { p1, p2 } = embeddings;
  const n = p1.shape[0];
  const dim = p1.shape[1];
  const specs = entrySpecs(methods);
  const z1 = normalizeRowsTf(p1);
  const z2 = normalizeRowsTf(p2);
  const z = [...(z1.arraySync() as number[][]), ...(z2.arraySync() as number[][])];
  const contexts: ContextGradients[] = [];
  try {
    for (const target of TARGET_MODES) {
      const hasTargets = embeddings.p1m !== undefined && embeddings.p2m !== undefined;
      if (target === 'mm' && !hasTargets) {
        const reason = 'n/a: the checkpoint has no momentum encoder (a w/o-mm run), so there are no momentum targets';
        contexts.push({ target, available: false, reason, z, t: [], F: [], lambda, entries: specs.map((spec) => ({ spec, gradient: null, unavailable: reason })) });
        continue;
      }
      let context: ContextGradients | undefined;
      tf.tidy(() => {
        context = contextGradients(target, embeddings, states, options, { methods, specs, z, z1, z2, lambda, rho, n, dim });
      });
      contexts.push(context as ContextGradients);
    }
  } finally {
    tf.dispose([z1, z2]);
  }
  return contexts;
}

interface Shared {
  methods: readonly Method[];
  specs: EntrySpec[];
  z: Rows;
  z1: tf.Tensor2D;
  z2: tf.Tensor2D;
  lambda: number;
  rho: number;
  n: number;
  dim: number;
}

function contextGradients(target: TargetMode, embeddings: BatchEmbeddings, states: CompareStates, options: CompareOptions, shared: Shared): ContextGradients {
  const { p1, p2 } = embeddings;
  const { z1, z2 } = shared;
  const t1 = target === 'mm' ? normalizeRowsTf(embeddings.p1m as tf.Tensor2D) : z1;
  const t2 = target === 'mm' ? normalizeRowsTf(embeddings.p2m as tf.Tensor2D) : z2;
  // Row i of view 1 is pulled to t2_i, row i of view 2 to t1_i.
  const t = [...(t2.arraySync() as number[][]), ...(t1.arraySync() as number[][])];
  const previousF = states.F?.[target];
  const Fctx = updateF(previousF, targetCorrelation(t1, t2), shared.rho);
  const F = Fctx.arraySync() as number[][];
  const queue = states.queue?.[target];
  const entries: EntryGradient[] = [];
  for (const spec of shared.specs) {
    const method = shared.methods.find((m) => m.name === spec.method) as Method;
    const form: Form = spec.variant === 'grad' ? 'grad' : 'original';
    const hyper = options.hyper?.(method, form);
    const state: MethodState = { F: previousF };
    if (needsQueue(method, shared.dim, hyper)) {
      if (!queue) {
        entries.push({ spec, gradient: null, unavailable: 'n/a: no MoCo queue (the checkpoint has none and no other batch supplied keys)' });
        continue;
      }
      state.queue = queue;
    }
    let predictor: ((p: tf.Tensor2D) => tf.Tensor2D) | undefined;
    if (spec.variant === 'original' && method.originalNeeds.predictor) {
      if (!options.predictor) {
        entries.push({ spec, gradient: null, unavailable: 'n/a: the checkpoint has no learned predictor (only original BYOL/SimSiam runs train one); see the W_p row' });
        continue;
      }
      predictor = options.predictor;
    }
    if (spec.variant === 'original-wp') {
      const eps = ({ ...method.defaults, ...options.hyper?.(method, 'grad') }.eps as number | undefined) ?? 0.3;
      const { Wp, A } = directPredMatrices(Fctx, eps);
      A.dispose();
      predictor = (p) => tf.matMul(p, Wp);
    }
    // Originals with an EMA target use the context's targets: the momentum outputs, or the online outputs (constants).
    const p1m = target === 'mm' ? embeddings.p1m : p1;
    const p2m = target === 'mm' ? embeddings.p2m : p2;
    try {
      const gradient = inputGradient(p1, p2, (v1, v2) => {
        const inputs: LossInputs = { p1: v1, p2: v2, p1m, p2m };
        if (predictor) {
          inputs.q1 = predictor(v1);
          inputs.q2 = predictor(v2);
        }
        const out = form === 'grad' ? method.gradient(inputs, target, state, hyper) : method.original(inputs, state, hyper);
        return out.loss;
      });
      const finite = gradient.every((row) => row.every(Number.isFinite));
      entries.push(finite ? { spec, gradient } : { spec, gradient: null, unavailable: 'n/a: the gradient is not finite on this batch' });
    } catch (err) {
      if (!(err instanceof LossInputError)) throw err;
      entries.push({ spec, gradient: null, unavailable: `n/a: ${err.message}` });
    }
  }
  return { target, available: true, z: shared.z, t, F, lambda: shared.lambda, entries };
}

/** (I − z zᵀ) g row by row, and ‖radial part‖/‖g‖ of each row (0 for a loss of z only, up to rounding). */
export function tangentRows(g: Rows, z: Rows): { tangent: Rows; radialFraction: number[] } {
  const tangentRowsOut: Rows = [];
  const radialFraction: number[] = [];
  for (let i = 0; i < g.length; i++) {
    const r = dot(g[i], z[i]);
    tangentRowsOut.push(g[i].map((v, k) => v - r * z[i][k]));
    const total = norm(g[i]);
    radialFraction.push(total > 0 ? Math.abs(r) / total : 0);
  }
  return { tangent: tangentRowsOut, radialFraction };
}
