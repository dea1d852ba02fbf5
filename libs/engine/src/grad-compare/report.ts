// From per-batch gradients (gradients.ts) to the numbers of the comparison, pure float64 arithmetic:
// decomposition norms, per-sample cosine matrices (full gradients and negative parts), and each method's
// effective λ relative to UniGrad's. Batches are accumulated, so every mean is over all samples of all batches.
import { REFERENCE_ID, tangentRows, type ContextGradients, type EntrySpec } from './gradients';
import type { TargetMode } from '@unigrad/losses';
import {
  dot,
  addCosines,
  addFit,
  decompose,
  emptyCosineSum,
  emptyFitSum,
  meanCosine,
  negativePart,
  norm,
  rowsTimes,
  solveFit,
  tangent,
  type CosineSum,
  type FitSum,
  type Rows,
} from './vectors';

export interface EntryReport extends EntrySpec {
  available: boolean;
  /** Why it is n/a (first reason seen). */
  unavailable?: string;
  /** Samples (2n per batch) that went into the means. */
  samples: number;
  /** Means over samples of ‖g‖, ‖positive part‖, ‖negative part‖ (tangent gradients, scale g_i = 2n‖p_i‖∂L/∂p_i). */
  norms: { full: number; positive: number; negative: number } | null;
  /** Σ‖positive‖² / Σ‖g‖²: the share of the gradient's energy that is pull along t⊥. */
  positiveShare: number | null;
  /** Mean ‖radial part‖/‖g‖ left out of the comparison (≈ 0 for losses of the normalised z). */
  radialFraction: number | null;
  /**
   * Pull coefficient a of the model g_i ≈ −a·t⊥_i + λ·(I − z_i z_iᵀ)F z_i: the least-squares fit on −t⊥ of what is left
   * of g after the fitted λ-term (so the λ-term's own component along t⊥ is not counted as pull). UniGrad: exactly 1.
   */
  pull: number | null;
  /** Least-squares λ of the negative part on the negative part of (I − zzᵀ)F z, in the method's own gradient scale. */
  lambdaFit: number | null;
  /** Fraction of the negative part's energy that λ·F·z explains (1 for UniGrad). */
  lambdaR2: number | null;
  /** lambdaFit / pull: the negative weight per unit of pull, comparable to UniGrad's λ (UniGrad: its λ). */
  lambdaEffective: number | null;
  /** lambdaEffective / UniGrad's lambdaEffective (UniGrad: 1). */
  lambdaRelative: number | null;
  /** Mean per-sample cosine with UniGrad's gradient, and of the negative parts alone. */
  cosineToUniGrad: number | null;
  negativeCosineToUniGrad: number | null;
}

export interface ContextReport {
  target: TargetMode;
  available: boolean;
  reason?: string;
  /** UniGrad's λ (the F-basis of the λ fit is λ·(I − zzᵀ)F z). */
  lambda: number;
  samples: number;
  entries: EntryReport[];
  /** Mean per-sample cosines between entries (ids in `entries` order; null = n/a or no defined sample). */
  cosine: { ids: string[]; full: (number | null)[][]; negative: (number | null)[][] };
}

interface EntryAcc {
  spec: EntrySpec;
  unavailable?: string;
  samples: number;
  full: number;
  positive: number;
  negative: number;
  radial: number;
  energyG: number;
  energyPos: number;
  /** y = g, x = −t⊥: xy = −Σ<g, t⊥>, xx = Σ‖t⊥‖². */
  pull: FitSum;
  /** Σ<(I − zzᵀ)F z, t⊥>: the λ-term's component along the pull direction. */
  leak: number;
  lambda: FitSum;
}

interface ContextAcc {
  target: TargetMode;
  reason?: string;
  lambda: number;
  samples: number;
  entries: EntryAcc[];
  full: CosineSum[][];
  negative: CosineSum[][];
}

function square(n: number): CosineSum[][] {
  return Array.from({ length: n }, () => Array.from({ length: n }, emptyCosineSum));
}

/** Accumulates the batches of one checkpoint; `report()` gives the numbers. */
export class GradCompareAccumulator {
  private contexts = new Map<TargetMode, ContextAcc>();

  add(batch: readonly ContextGradients[]): void {
    for (const ctx of batch) this.addContext(ctx);
  }

  private addContext(ctx: ContextGradients): void {
    let acc = this.contexts.get(ctx.target);
    if (!acc) {
      acc = {
        target: ctx.target,
        lambda: ctx.lambda,
        samples: 0,
        entries: ctx.entries.map((e) => ({ spec: e.spec, samples: 0, full: 0, positive: 0, negative: 0, radial: 0, energyG: 0, energyPos: 0, pull: emptyFitSum(), leak: 0, lambda: emptyFitSum() })),
        full: square(ctx.entries.length),
        negative: square(ctx.entries.length),
      };
      this.contexts.set(ctx.target, acc);
    }
    if (acc.entries.length !== ctx.entries.length || acc.entries.some((e, i) => e.spec.id !== ctx.entries[i].spec.id)) {
      throw new Error(`grad-compare: batch entries of context ${ctx.target} differ from the first batch's`);
    }
    if (!ctx.available) {
      acc.reason ??= ctx.reason;
      for (const [i, e] of ctx.entries.entries()) acc.entries[i].unavailable ??= e.unavailable;
      return;
    }
    acc.samples += ctx.z.length;
    // The shared basis of the λ fit: the negative part of the tangent UniGrad repulsion direction (I − zzᵀ)F z.
    // Fitting negative parts on it is the joint fit g_i ≈ −a_i·t⊥_i + λ·(I − zzᵀ)F z_i with a free pull per sample.
    const repulsion = rowsTimes(ctx.z, ctx.F).map((b, i) => tangent(b, ctx.z[i]));
    const basis = negativePart(repulsion, ctx.z, ctx.t);
    const minusPull = ctx.z.map((zi, i) => tangent(ctx.t[i], zi).map((v) => -v));
    const leak = repulsion.reduce((s, b, i) => s - dot(b, minusPull[i]), 0);
    const parts: ({ full: Rows; negative: Rows } | null)[] = ctx.entries.map((entry, i) => {
      const a = acc.entries[i];
      if (!entry.gradient) {
        a.unavailable ??= entry.unavailable ?? 'n/a';
        return null;
      }
      const { tangent: g, radialFraction } = tangentRows(entry.gradient, ctx.z);
      const { positive, negative } = decompose(g, ctx.z, ctx.t);
      for (let s = 0; s < g.length; s++) {
        a.full += norm(g[s]);
        a.positive += norm(positive[s]);
        a.negative += norm(negative[s]);
        a.radial += radialFraction[s];
        a.energyG += norm(g[s]) ** 2;
        a.energyPos += norm(positive[s]) ** 2;
      }
      a.samples += g.length;
      addFit(a.pull, g, minusPull);
      a.leak += leak;
      addFit(a.lambda, negative, basis);
      return { full: g, negative };
    });
    for (let i = 0; i < parts.length; i++) {
      for (let j = i; j < parts.length; j++) {
        const a = parts[i];
        const b = parts[j];
        if (!a || !b) continue;
        addCosines(acc.full[i][j], a.full, b.full);
        addCosines(acc.negative[i][j], a.negative, b.negative);
      }
    }
  }

  report(): ContextReport[] {
    return [...this.contexts.values()].map((acc) => contextReport(acc));
  }
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || Math.abs(b) < 1e-12 ? null : a / b;
}

function contextReport(acc: ContextAcc): ContextReport {
  const ids = acc.entries.map((e) => e.spec.id);
  const availableEntry = (e: EntryAcc) => e.samples > 0 && e.unavailable === undefined;
  const matrix = (sums: CosineSum[][]) =>
    ids.map((_, i) =>
      ids.map((__, j) => {
        const [a, b] = i <= j ? [i, j] : [j, i];
        return availableEntry(acc.entries[a]) && availableEntry(acc.entries[b]) ? meanCosine(sums[a][b]) : null;
      }),
    );
  const full = matrix(acc.full);
  const negative = matrix(acc.negative);
  const ref = ids.indexOf(REFERENCE_ID);
  // a = −Σ<g − λ·(I − zzᵀ)Fz, t⊥> / Σ‖t⊥‖² = (pull.xy + λ·leak) / pull.xx.
  const pullOf = (e: EntryAcc) => {
    const lambda = solveFit(e.lambda).coefficient;
    return lambda === null || e.pull.xx <= 0 ? null : (e.pull.xy + lambda * e.leak) / e.pull.xx;
  };
  const effective = (e: EntryAcc) => ratio(solveFit(e.lambda).coefficient, pullOf(e));
  const refEffective = ref >= 0 && availableEntry(acc.entries[ref]) ? effective(acc.entries[ref]) : null;
  const entries = acc.entries.map((e, i): EntryReport => {
    const ok = availableEntry(e);
    const lambdaFit = ok ? solveFit(e.lambda) : null;
    const pull = ok ? pullOf(e) : null;
    const lambdaEffective = ok ? effective(e) : null;
    return {
      ...e.spec,
      available: ok,
      ...(ok ? {} : { unavailable: e.unavailable ?? acc.reason ?? 'n/a' }),
      samples: e.samples,
      norms: ok ? { full: e.full / e.samples, positive: e.positive / e.samples, negative: e.negative / e.samples } : null,
      positiveShare: ok && e.energyG > 0 ? e.energyPos / e.energyG : null,
      radialFraction: ok ? e.radial / e.samples : null,
      pull,
      lambdaFit: lambdaFit?.coefficient ?? null,
      lambdaR2: lambdaFit?.r2 ?? null,
      lambdaEffective,
      lambdaRelative: ratio(lambdaEffective, refEffective),
      cosineToUniGrad: ref >= 0 ? full[i][ref] : null,
      negativeCosineToUniGrad: ref >= 0 ? negative[i][ref] : null,
    };
  });
  return {
    target: acc.target,
    available: acc.samples > 0,
    ...(acc.samples > 0 ? {} : { reason: acc.reason ?? 'n/a' }),
    lambda: acc.lambda,
    samples: acc.samples,
    entries,
    cosine: { ids, full, negative },
  };
}

/** Every cosine of a report (matrices and per-entry), for the [−1, 1] check. */
export function allCosines(contexts: readonly ContextReport[]): number[] {
  const out: number[] = [];
  for (const c of contexts) {
    for (const m of [c.cosine.full, c.cosine.negative]) for (const row of m) for (const v of row) if (v !== null) out.push(v);
    for (const e of c.entries) for (const v of [e.cosineToUniGrad, e.negativeCosineToUniGrad]) if (v !== null) out.push(v);
  }
  return out;
}
