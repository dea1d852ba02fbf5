// Matmul-only symmetric linear algebra (TF.js has no eig/SVD, and this must also run on accelerators).
import * as tf from '@tensorflow/tfjs';

/** Defaults, tuned in linalg.test.ts against an exact Jacobi eigensolver. */
export const POWER_SQUARINGS = 14;
export const POWER_ITERATIONS = 8;
export const SQRT_ITERATIONS = 26;
export const SQRT_SHIFT = 1e-6;

function symmetrise(M: tf.Tensor2D): tf.Tensor2D {
  return tf.add(M, M.transpose()).mul(0.5) as tf.Tensor2D;
}

/**
 * Largest eigenvalue of a symmetric PSD matrix. Plain power iteration converges slowly when the top eigenvalues
 * cluster, so M is first raised to the power 2^squarings by repeated squaring (renormalised each time); the
 * column with the largest diagonal entry of that power is then almost the top eigenvector. A few ordinary power
 * steps and a Rayleigh quotient finish it. Returns 0 for the zero matrix.
 */
export function maxEigenvalueSym(M: tf.Tensor2D, squarings = POWER_SQUARINGS, iterations = POWER_ITERATIONS): tf.Scalar {
  return tf.tidy(() => {
    const S = symmetrise(M);
    const D = S.shape[0];
    let P = S;
    const tiny = 1e-30;
    P = P.div(tf.maximum(tf.norm(P), tiny));
    for (let k = 0; k < squarings; k++) {
      const previous = P;
      P = tf.tidy(() => {
        const next = tf.matMul(previous, previous);
        return next.div(tf.maximum(tf.norm(next), tiny));
      });
      previous.dispose(); // keeps memory at O(D²) for large D
    }
    const diagonal = tf.sum(tf.mul(P, tf.eye(D)), 1);
    const column = tf.argMax(diagonal).reshape([1]) as tf.Tensor1D;
    let v = tf.gather(P, column, 1) as tf.Tensor2D; // D×1
    for (let k = 0; k < iterations; k++) {
      const w = tf.matMul(S, v);
      v = w.div(tf.maximum(tf.norm(w), tiny));
    }
    const vv = tf.sum(tf.square(v));
    const vMv = tf.sum(tf.mul(v, tf.matMul(S, v)));
    return tf.where(tf.greater(vv, 0), vMv.div(tf.maximum(vv, tiny)), tf.scalar(0)) as tf.Scalar;
  });
}

/**
 * Square root of a symmetric PSD matrix whose eigenvalues lie in [0, 1] (up to rounding), by the coupled
 * Newton–Schulz iteration on A = M + δI:  T = (3I − Z Y)/2, Y ← Y T, Z ← T Z, so Y → A^{1/2}, Z → A^{-1/2}.
 * The result is M·Z = Y − δZ: exactly 0 on M's null space (where a plain shifted root would give √δ), within
 * δ/(2√λ) of √λ elsewhere, and float32 rounding that makes tiny eigenvalues slightly negative cannot blow Z up
 * while |negative part| < δ.
 */
export function sqrtPsdUnit(M: tf.Tensor2D, iterations = SQRT_ITERATIONS, shift = SQRT_SHIFT): tf.Tensor2D {
  return tf.tidy(() => {
    const D = M.shape[0];
    const I = tf.eye(D);
    const A = symmetrise(M).add(I.mul(shift)) as tf.Tensor2D;
    let Y: tf.Tensor2D = A;
    let Z: tf.Tensor2D = I as tf.Tensor2D;
    for (let k = 0; k < iterations; k++) {
      const [y, z] = [Y, Z];
      [Y, Z] = tf.tidy(() => {
        const T = tf.sub(I.mul(3), tf.matMul(z, y)).mul(0.5) as tf.Tensor2D;
        return [tf.matMul(y, T), tf.matMul(T, z)];
      });
      if (k > 0) {
        y.dispose(); // keeps memory at O(D²) for large D
        z.dispose();
      }
    }
    return symmetrise(tf.sub(Y, Z.mul(shift)) as tf.Tensor2D);
  });
}
