// The gradient comparison on synthetic embeddings, against closed forms (issue 17's acceptance list).
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_ID, gradCompareBatch, tangentRows, type BatchEmbeddings, type ContextGradients } from './gradients';
import { GradCompareAccumulator, allCosines, type ContextReport } from './report';
import { decompose, dot, negativePart, norm, normalizeRows, rowsTimes, tangent, type Rows } from './vectors';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const N = 6;
const D = 5;

function random(rows: number, cols: number, rng: Rng, scale = 1, offset = 0): Rows {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => offset + scale * rng.normal()));
}

/** Raw online outputs p1, p2 and nearby momentum outputs p1m, p2m (plain arrays), plus a unit-row MoCo queue. */
function synthetic(seed: number) {
  const rng = new Rng(seed);
  const p1 = random(N, D, rng, 1, 0.3);
  const p2 = p1.map((row) => row.map((v) => v + 0.5 * rng.normal()));
  const near = (m: Rows) => m.map((row) => row.map((v) => v + 0.2 * rng.normal()));
  return { p1, p2, p1m: near(p1), p2m: near(p2), queue: normalizeRows(random(10, D, rng)) };
}

type Arrays = ReturnType<typeof synthetic>;
const T = (m: Rows) => tf.tensor2d(m, undefined, 'float32');

/** Runs gradCompareBatch on arrays (tensors made and freed here). */
function compare(x: Arrays, options: { momentum?: boolean; queue?: boolean; F?: Rows; predictor?: (p: tf.Tensor2D) => tf.Tensor2D } = {}): ContextGradients[] {
  const emb: BatchEmbeddings = { p1: T(x.p1), p2: T(x.p2) };
  if (options.momentum ?? true) {
    emb.p1m = T(x.p1m);
    emb.p2m = T(x.p2m);
  }
  const queue = options.queue ?? true ? T(x.queue) : undefined;
  const F = options.F ? T(options.F) : undefined;
  try {
    return gradCompareBatch(emb, { F: F ? { mm: F, no_mm: F } : undefined, queue: queue ? { mm: queue, no_mm: queue } : undefined }, { predictor: options.predictor });
  } finally {
    tf.dispose([emb.p1, emb.p2, emb.p1m, emb.p2m, queue, F].filter((t): t is tf.Tensor2D => t !== undefined));
  }
}

function report(contexts: ContextGradients[]): ContextReport[] {
  const acc = new GradCompareAccumulator();
  acc.add(contexts);
  return acc.report();
}

function gradientOf(ctx: ContextGradients, id: string): Rows {
  const e = ctx.entries.find((x) => x.spec.id === id);
  if (!e?.gradient) throw new Error(`${id} is n/a: ${e?.unavailable}`);
  return tangentRows(e.gradient, ctx.z).tangent;
}

function maxAbsDiff(a: Rows, b: Rows): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, k) => Math.abs(v - b[i][k]))));
}

function maxAbs(a: Rows): number {
  return Math.max(...a.flat().map(Math.abs));
}

function cosineIn(r: ContextReport, a: string, b: string, which: 'full' | 'negative' = 'full'): number | null {
  return r.cosine[which][r.cosine.ids.indexOf(a)][r.cosine.ids.indexOf(b)];
}

describe('gradCompareBatch on synthetic embeddings', () => {
  const x = synthetic(5);
  const previousF = (() => {
    const z = normalizeRows(random(40, D, new Rng(9), 1, 0.2));
    return Array.from({ length: D }, (_, a) => Array.from({ length: D }, (__, b) => z.reduce((s, r) => s + r[a] * r[b], 0) / z.length));
  })();
  const contexts = compare(x, { F: previousF });

  it("UniGrad's gradient is the closed form (I − zzᵀ)(−t + λ·F·z); its negative part is λ·(negative part of (I − zzᵀ)F z)", () => {
    for (const ctx of contexts) {
      const g = gradientOf(ctx, REFERENCE_ID);
      const Fz = rowsTimes(ctx.z, ctx.F);
      const expected = ctx.z.map((z, i) => tangent(ctx.t[i].map((v, k) => -v + 100 * Fz[i][k]), z));
      expect(maxAbsDiff(g, expected) / maxAbs(expected), ctx.target).toBeLessThan(2e-5);
      // F is ρ·F_prev + (1 − ρ)·T, T the batch correlation of the context's targets (both views).
      const T = Array.from({ length: D }, (_, a) => Array.from({ length: D }, (__, b) => ctx.t.reduce((s, r) => s + r[a] * r[b], 0) / ctx.t.length));
      expect(maxAbsDiff(ctx.F, previousF.map((row, a) => row.map((v, b) => 0.99 * v + 0.01 * T[a][b])))).toBeLessThan(1e-6);
      const { negative } = decompose(g, ctx.z, ctx.t);
      // The negative part has nothing left along the pull direction t⊥ = (I − zzᵀ)t (relative to the row's scale).
      negative.forEach((row, i) => {
        const tp = tangent(ctx.t[i], ctx.z[i]);
        expect(Math.abs(dot(row, tp)) / (norm(g[i]) * norm(tp))).toBeLessThan(1e-9);
      });
      const basis = negativePart(Fz.map((b, i) => tangent(b, ctx.z[i])), ctx.z, ctx.t);
      expect(maxAbsDiff(negative, basis.map((row) => row.map((v) => 100 * v))) / maxAbs(negative)).toBeLessThan(2e-5);
    }
    for (const r of report(contexts)) {
      const u = r.entries.find((e) => e.id === REFERENCE_ID)!;
      expect(u.lambdaFit).toBeCloseTo(100, 2);
      expect(u.lambdaR2).toBeCloseTo(1, 6);
      expect(u.pull).toBeCloseTo(1, 4);
      expect(u.lambdaRelative).toBeCloseTo(1, 9);
      expect(u.cosineToUniGrad).toBeCloseTo(1, 9);
    }
  });

  it('SimSiam-grad and BYOL-grad have cosine 1 (the same DirectPred gradient) in both contexts', () => {
    for (const ctx of contexts) expect(maxAbsDiff(gradientOf(ctx, 'simsiam:grad'), gradientOf(ctx, 'byol:grad'))).toBeLessThan(1e-6);
    for (const r of report(contexts)) {
      expect(cosineIn(r, 'simsiam:grad', 'byol:grad')).toBeCloseTo(1, 9);
      expect(cosineIn(r, 'simsiam:grad', 'byol:grad', 'negative')).toBeCloseTo(1, 6);
    }
  });

  it("MoCo's gradient form with momentum targets has its original loss's gradient (the keys are constants in both)", () => {
    const mm = contexts.find((c) => c.target === 'mm')!;
    const grad = gradientOf(mm, 'moco:grad');
    expect(maxAbs(grad)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(grad, gradientOf(mm, 'moco:original')) / maxAbs(grad)).toBeLessThan(1e-5);
    const r = report(contexts).find((c) => c.target === 'mm')!;
    expect(cosineIn(r, 'moco:grad', 'moco:original')).toBeCloseTo(1, 9);
  });

  it("Barlow Twins' gradient form matches finite differences of 0.5·(L1 + L2), L1 = −2 tr C + λ‖C‖², C = Z1ᵀZ2m/N (N = n)", () => {
    const lambda = 50;
    const z1m = normalizeRows(x.p1m);
    const z2m = normalizeRows(x.p2m);
    const half = (Z: Rows, Zm: Rows) => {
      let trace = 0;
      let frob = 0;
      for (let a = 0; a < D; a++) {
        for (let b = 0; b < D; b++) {
          const c = Z.reduce((s, row, m) => s + row[a] * Zm[m][b], 0) / N;
          frob += c * c;
          if (a === b) trace += c;
        }
      }
      return -2 * trace + lambda * frob;
    };
    const loss = (P1: Rows, P2: Rows) => 0.5 * (half(normalizeRows(P1), z2m) + half(normalizeRows(P2), z1m));
    const h = 1e-6;
    const fd = (view: 0 | 1): Rows =>
      (view === 0 ? x.p1 : x.p2).map((row, i) =>
        row.map((_, k) => {
          const bump = (s: number) => {
            const P = (view === 0 ? x.p1 : x.p2).map((r) => [...r]);
            P[i][k] += s;
            return view === 0 ? loss(P, x.p2) : loss(x.p1, P);
          };
          // g = 2n·‖p_i‖·∂L/∂p_i, as gradCompareBatch reports it.
          return ((bump(h) - bump(-h)) / (2 * h)) * 2 * N * norm(row);
        }),
      );
    const expected = [...fd(0), ...fd(1)];
    const mm = contexts.find((c) => c.target === 'mm')!;
    const g = gradientOf(mm, 'barlow_twins:grad');
    expect(maxAbsDiff(g, expected) / maxAbs(expected)).toBeLessThan(1e-4);
    // The closed form is a function of z only: its gradient is already tangent.
    expect(Math.max(...expected.map((row, i) => Math.abs(dot(row, mm.z[i]))))).toBeLessThan(1e-6 * maxAbs(expected));
  });

  it('every cosine of the report is in [−1, 1]; the diagonal of each matrix is 1', () => {
    // Two batches accumulated: the means are over both.
    const acc = new GradCompareAccumulator();
    acc.add(contexts);
    acc.add(compare(synthetic(6), { F: previousF }));
    const reports = acc.report();
    expect(reports[0].samples).toBe(4 * N);
    const all = allCosines(reports);
    expect(all.length).toBeGreaterThan(100);
    for (const c of all) {
      expect(c).toBeGreaterThanOrEqual(-1);
      expect(c).toBeLessThanOrEqual(1);
    }
    for (const r of reports) {
      r.cosine.full.forEach((row, i) => {
        if (row[i] !== null) expect(row[i]).toBeCloseTo(1, 9);
        row.forEach((v, j) => expect(v).toBe(r.cosine.full[j][i]));
      });
    }
  });

  it('reports n/a honestly: no momentum outputs, no learned predictor, no MoCo queue', () => {
    const r = report(compare(x, { momentum: false, queue: false }));
    const mm = r.find((c) => c.target === 'mm')!;
    expect(mm.available).toBe(false);
    expect(mm.entries.every((e) => !e.available && /no momentum encoder/.test(e.unavailable ?? ''))).toBe(true);
    const nomm = r.find((c) => c.target === 'no_mm')!;
    const byId = (id: string) => nomm.entries.find((e) => e.id === id)!;
    expect(byId('byol:original').available).toBe(false);
    expect(byId('byol:original').unavailable).toMatch(/no learned predictor/);
    expect(byId('simsiam:original').available).toBe(false);
    expect(byId('moco:grad').unavailable).toMatch(/no MoCo queue/);
    expect(byId('moco:original').available).toBe(false);
    for (const id of ['byol:original-wp', 'simsiam:original-wp', 'simclr:original', 'barlow_twins:original', 'unigrad:grad']) expect(byId(id).available, id).toBe(true);
    expect(cosineIn(nomm, 'moco:grad', REFERENCE_ID)).toBeNull();
  });

  it("original BYOL goes through the given predictor: with h = identity it is pure pull −4(I − zzᵀ)t (BYOL's published Σ(2 − 2cos) scale)", () => {
    const ctxs = compare(x, { predictor: (p) => p.clone() });
    const mm = ctxs.find((c) => c.target === 'mm')!;
    const g = gradientOf(mm, 'byol:original');
    const pull = mm.z.map((z, i) => tangent(mm.t[i], z).map((v) => -4 * v));
    expect(maxAbsDiff(g, pull) / maxAbs(pull)).toBeLessThan(1e-5);
    const e = report(ctxs).find((c) => c.target === 'mm')!.entries.find((y) => y.id === 'byol:original')!;
    expect(e.norms!.negative).toBeLessThan(1e-5 * e.norms!.positive);
    expect(e.pull).toBeCloseTo(4, 3);
  });

  it('the radial part is ≈ 0 for losses of z and is reported for the scale-dependent originals', () => {
    const entries = report(contexts).find((c) => c.target === 'mm')!.entries;
    for (const e of entries) {
      if (!e.available) continue;
      if (e.id === 'barlow_twins:original' || e.id === 'vicreg:original') expect(e.radialFraction, e.id).toBeGreaterThan(0.01);
      else expect(e.radialFraction, e.id).toBeLessThan(1e-4);
    }
  });
});
