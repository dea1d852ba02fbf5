// Independent float64 plain-JS reference implementations for the tests (explicit loops, no TF.js).
export type Mat = number[][];

export function randomMatrix(rows: number, cols: number, rng: { normal(): number }, scale = 1, offset = 0): Mat {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => offset + scale * rng.normal()));
}

export const transpose = (A: Mat): Mat => A[0].map((_, j) => A.map((row) => row[j]));
export const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
export const norm = (a: number[]): number => Math.sqrt(dot(a, a));
export function matmul(A: Mat, B: Mat): Mat {
  return A.map((row) => B[0].map((_, j) => row.reduce((s, v, k) => s + v * B[k][j], 0)));
}
export const matvec = (A: Mat, x: number[]): number[] => A.map((row) => dot(row, x));
export const identity = (d: number): Mat => Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
export const normalizeRowsJs = (P: Mat): Mat => P.map((r) => r.map((v) => v / Math.max(norm(r), 1e-12)));
export const scale = (A: Mat, s: number): Mat => A.map((r) => r.map((v) => v * s));
export const add = (A: Mat, B: Mat): Mat => A.map((r, i) => r.map((v, j) => v + B[i][j]));

/** (T1ᵀT1 + T2ᵀT2)/(2n) by loops. */
export function correlationJs(t1: Mat, t2: Mat): Mat {
  const d = t1[0].length;
  const n = t1.length;
  const F = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const rows of [t1, t2]) for (const r of rows) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) F[a][b] += (r[a] * r[b]) / (2 * n);
  return F;
}

/** Exact symmetric eigendecomposition by cyclic Jacobi rotations: A = V diag(values) Vᵀ (columns of V). */
export function jacobiEigSym(A: Mat): { values: number[]; vectors: Mat } {
  const n = A.length;
  const a = A.map((r) => [...r]);
  const v = identity(n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((r, i) => r[i]), vectors: v };
}

/** Q·diag(f(values))·Qᵀ. */
export function spectralMap(A: Mat, f: (lambda: number) => number): Mat {
  const { values, vectors } = jacobiEigSym(A);
  const n = A.length;
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let k = 0; k < n; k++) {
    const fk = f(values[k]);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i][j] += vectors[i][k] * fk * vectors[j][k];
  }
  return out;
}

/** d loss / d p from d loss / d z = G/(2n): (I − z zᵀ) G_i / (2n‖p_i‖) (spec §2). */
export function gradThroughNormalisation(P: Mat, G: Mat): Mat {
  const n = P.length;
  return P.map((p, i) => {
    const r = norm(p);
    const z = p.map((v) => v / r);
    const gz = dot(G[i], z);
    return G[i].map((g, j) => (g - gz * z[j]) / (2 * n * r));
  });
}

/** Central finite differences of a scalar function of one matrix (float64). */
export function finiteDifferenceGrad(f: (X: Mat) => number, X: Mat, h = 1e-6): Mat {
  return X.map((row, i) =>
    row.map((_, j) => {
      const plus = X.map((r) => [...r]);
      const minus = X.map((r) => [...r]);
      plus[i][j] += h;
      minus[i][j] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}

/** Largest |a − b| relative to max(1, largest |b|). */
export function maxRelativeError(a: Mat, b: Mat): number {
  let err = 0;
  let size = 0;
  for (let i = 0; i < b.length; i++) {
    for (let j = 0; j < b[i].length; j++) {
      err = Math.max(err, Math.abs(a[i][j] - b[i][j]));
      size = Math.max(size, Math.abs(b[i][j]));
    }
  }
  return err / Math.max(size, 1e-30);
}

// ---- original losses by explicit loops ----

export function ntXentJs(p1: Mat, p2: Mat, tau: number): number {
  const Z = normalizeRowsJs([...p1, ...p2]);
  const n = p1.length;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = (i + n) % (2 * n);
    let denom = 0;
    for (let j = 0; j < 2 * n; j++) if (j !== i) denom += Math.exp(dot(Z[i], Z[j]) / tau);
    total += -Math.log(Math.exp(dot(Z[i], Z[pos]) / tau) / denom);
  }
  return total / (2 * n);
}

export function mocoInfoNceJs(p1: Mat, p2: Mat, p1m: Mat, p2m: Mat, queue: Mat, tau: number): number {
  const [z1, z2, t1, t2] = [p1, p2, p1m, p2m].map(normalizeRowsJs);
  const direction = (z: Mat, t: Mat) => {
    let s = 0;
    for (let i = 0; i < z.length; i++) {
      const pos = Math.exp(dot(z[i], t[i]) / tau);
      let denom = pos;
      for (const k of queue) denom += Math.exp(dot(z[i], k) / tau);
      s += -Math.log(pos / denom);
    }
    return s / z.length;
  };
  return 0.5 * (direction(z1, t2) + direction(z2, t1));
}

export function predictorCosineJs(q1: Mat, q2: Mat, t1raw: Mat, t2raw: Mat): number {
  const cos = (a: number[], b: number[]) => dot(a, b) / (norm(a) * norm(b));
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < q1.length; i++) {
    s1 += -cos(q1[i], t2raw[i]);
    s2 += -cos(q2[i], t1raw[i]);
  }
  return 0.5 * (s1 / q1.length) + 0.5 * (s2 / q1.length);
}

export function barlowTwinsJs(p1: Mat, p2: Mat, lambda: number): number {
  const n = p1.length;
  const d = p1[0].length;
  const standardise = (X: Mat) => {
    const out = X.map((r) => [...r]);
    for (let j = 0; j < d; j++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += X[i][j] / n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += (X[i][j] - mean) ** 2 / n;
      for (let i = 0; i < n; i++) out[i][j] = (X[i][j] - mean) / Math.sqrt(variance + 1e-5);
    }
    return out;
  };
  const a = standardise(p1);
  const b = standardise(p2);
  let loss = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let c = 0;
      for (let k = 0; k < n; k++) c += (a[k][i] * b[k][j]) / n;
      loss += i === j ? (c - 1) ** 2 : lambda * c * c;
    }
  }
  return loss;
}

export function vicregJs(x: Mat, y: Mat, sim = 25, std = 25, cov = 1): number {
  const n = x.length;
  const d = x[0].length;
  let mse = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mse += (x[i][j] - y[i][j]) ** 2 / (n * d);
  const branch = (X: Mat) => {
    const mean = new Array<number>(d).fill(0);
    for (const r of X) r.forEach((v, j) => (mean[j] += v / n));
    let stdTerm = 0;
    let covTerm = 0;
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        let c = 0;
        for (let i = 0; i < n; i++) c += ((X[i][a] - mean[a]) * (X[i][b] - mean[b])) / (n - 1);
        if (a === b) stdTerm += Math.max(0, 1 - Math.sqrt(c + 1e-4)) / d;
        else covTerm += (c * c) / d;
      }
    }
    return { stdTerm: stdTerm / 2, covTerm };
  };
  const bx = branch(x);
  const by = branch(y);
  return sim * mse + std * (bx.stdTerm + by.stdTerm) + cov * (bx.covTerm + by.covTerm);
}

// ---- DirectPred (spec §3.3) by hand ----

/** G rows for anchors u and targets t, with W_p and A from the exact eigendecomposition of F. */
export function directPredJs(F: Mat, u: Mat, t: Mat, eps: number): Mat {
  const sMax = Math.max(...jacobiEigSym(F).values);
  const M = scale(F, 1 / sMax);
  const Wp = add(spectralMap(M, (s) => Math.sqrt(Math.max(s, 0))), scale(identity(F.length), eps));
  const A = add(M, scale(identity(F.length), eps * eps));
  return u.map((ui, i) => {
    const Wu = matvec(Wp, ui);
    const Au = matvec(A, ui);
    const c = norm(Wu);
    const a = dot(Wu, t[i]) / dot(ui, Au);
    const Wt = matvec(Wp, t[i]);
    return Wt.map((w, k) => (-w + a * Au[k]) / c);
  });
}
