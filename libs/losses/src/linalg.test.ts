import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { directPredMatrices } from './directpred';
import { correlationJs, identity, jacobiEigSym, matmul, maxRelativeError, normalizeRowsJs, randomMatrix, spectralMap, transpose, type Mat } from './js-reference';
import { SQRT_SHIFT, maxEigenvalueSym, sqrtPsdUnit } from './linalg';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

/** A target-style correlation matrix: (T1ᵀT1 + T2ᵀT2)/(2n) of unit rows (rank ≤ 2n). */
function correlation(n: number, d: number, seed: number): Mat {
  const rng = new Rng(seed);
  return correlationJs(normalizeRowsJs(randomMatrix(n, d, rng, 1, 0.3)), normalizeRowsJs(randomMatrix(n, d, rng, 1, 0.3)));
}

/** Q diag(values) Qᵀ with a random orthogonal Q (from Jacobi of a random symmetric matrix). */
function withSpectrum(values: number[], seed: number): Mat {
  const R = randomMatrix(values.length, values.length, new Rng(seed));
  const Q = jacobiEigSym(matmul(R, transpose(R))).vectors;
  return matmul(matmul(Q, values.map((v, i) => values.map((_, j) => (i === j ? v : 0)))), transpose(Q));
}

function maxEig(M: Mat): number {
  return tf.tidy(() => maxEigenvalueSym(tf.tensor2d(M, undefined, 'float32')).dataSync()[0]);
}

describe('Jacobi reference eigensolver', () => {
  it('reconstructs the matrix and has orthonormal eigenvectors', () => {
    const A = correlation(6, 9, 1);
    const { values, vectors } = jacobiEigSym(A);
    const rebuilt = matmul(matmul(vectors, values.map((v, i) => values.map((_, j) => (i === j ? v : 0)))), transpose(vectors));
    expect(maxRelativeError(rebuilt, A)).toBeLessThan(1e-12);
    expect(maxRelativeError(matmul(transpose(vectors), vectors), identity(9))).toBeLessThan(1e-12);
  });
});

describe('maxEigenvalueSym (power iteration with repeated squaring)', () => {
  it.each([
    // float32 tolerance; the clustered case may land anywhere inside its 1e-5-wide top cluster.
    ['full rank', () => correlation(12, 10, 2), 2e-6],
    ['rank deficient (2n < D)', () => correlation(4, 16, 3), 2e-6],
    ['clustered top eigenvalues', () => withSpectrum([1, 0.99999, 0.9999, 0.5, 0.2, 0.01, 0, 0], 4), 1e-5],
    ['isotropic', () => identity(7).map((r) => r.map((v) => v / 7)), 2e-6],
  ])('matches the exact largest eigenvalue: %s', (_name, build, tol) => {
    const M = build();
    const exact = Math.max(...jacobiEigSym(M).values);
    expect(Math.abs(maxEig(M) - exact) / exact).toBeLessThan(tol);
  });

  it('is 0 for the zero matrix', () => {
    expect(maxEig([[0, 0], [0, 0]])).toBe(0);
  });
});

describe('sqrtPsdUnit (coupled Newton–Schulz)', () => {
  function check(M: Mat, tol: number): void {
    const exact = spectralMap(M, (s) => Math.sqrt(Math.max(s, 0)));
    const approx = tf.tidy(() => sqrtPsdUnit(tf.tensor2d(M, undefined, 'float32')).arraySync());
    expect(maxRelativeError(approx, exact)).toBeLessThan(tol);
  }

  it('matches the exact square root on a full-rank normalised correlation', () => {
    const F = correlation(16, 12, 5);
    check(F.map((r) => r.map((v) => v / Math.max(...jacobiEigSym(F).values))), 2e-4);
  });

  it('is exact on the null space of a rank-deficient matrix (2n < D)', () => {
    const F = correlation(3, 14, 6);
    const M = F.map((r) => r.map((v) => v / Math.max(...jacobiEigSym(F).values)));
    check(M, 2e-4);
    // M·Z = Y − δZ maps M's null space to 0, where a plain shifted root would give √δ·v: check ‖√M·v‖ for every
    // null eigenvector v (rank ≤ 2n = 6 of 14, so at least 8 of them).
    const { values, vectors } = jacobiEigSym(M);
    const nullVectors = values.flatMap((value, j) => (Math.abs(value) < 1e-12 ? [vectors.map((row) => [row[j]])] : []));
    expect(nullVectors.length).toBeGreaterThanOrEqual(8);
    const root = tf.tidy(() => sqrtPsdUnit(tf.tensor2d(M, undefined, 'float32')).arraySync());
    // float32 rounding of M leaves ~1e-5 there; the shifted root's √δ = 1e-3 would be 20× over this bound.
    for (const v of nullVectors) expect(Math.hypot(...matmul(root, v).map((r) => r[0]))).toBeLessThan(0.05 * Math.sqrt(SQRT_SHIFT));
  });

  it('handles a wide spread of eigenvalues including 0 and 1e-4', () => {
    check(withSpectrum([1, 0.5, 0.1, 1e-2, 1e-3, 1e-4, 0, 0, 0], 7), 5e-4);
  });

  it('stays finite when float32 rounding makes a null eigenvalue slightly negative', () => {
    const M = withSpectrum([1, 0.3, 0.05, -2e-7, -5e-7, 0], 8);
    const approx = tf.tidy(() => sqrtPsdUnit(tf.tensor2d(M, undefined, 'float32')).arraySync());
    expect(approx.flat().every(Number.isFinite)).toBe(true);
    check(withSpectrum([1, 0.3, 0.05, 0, 0, 0], 8), 2e-4);
    expect(maxRelativeError(approx, spectralMap(M, (s) => Math.sqrt(Math.max(s, 0))))).toBeLessThan(2e-3);
  });
});

describe('directPredMatrices', () => {
  it('gives W_p = (F/s_max)^{1/2} + εI and A = F/s_max + ε²I', () => {
    const F = correlation(8, 10, 9);
    const eps = 0.3;
    const sMax = Math.max(...jacobiEigSym(F).values);
    const exactWp = spectralMap(F, (s) => Math.sqrt(Math.max(s, 0) / sMax) + eps);
    const exactA = F.map((r, i) => r.map((v, j) => v / sMax + (i === j ? eps * eps : 0)));
    const [Wp, A] = tf.tidy(() => {
      const m = directPredMatrices(tf.tensor2d(F, undefined, 'float32'), eps);
      return [m.Wp.arraySync(), m.A.arraySync()];
    });
    expect(maxRelativeError(Wp, exactWp)).toBeLessThan(2e-4);
    expect(maxRelativeError(A, exactA)).toBeLessThan(1e-5);
  });
});
