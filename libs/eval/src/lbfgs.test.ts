import { describe, expect, it } from 'vitest';
import { Objective, minimizeLbfgs } from './lbfgs';

/** Extended Rosenbrock: Σ 100(x_{2i+1} − x_{2i}²)² + (1 − x_{2i})², minimum 0 at (1, …, 1). */
const rosenbrock: Objective = (x) => {
  let value = 0;
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i += 2) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    value += 100 * a * a + b * b;
    grad[i] = -400 * a * x[i] - 2 * b;
    grad[i + 1] = 200 * a;
  }
  return { value, grad };
};

describe('minimizeLbfgs', () => {
  it('finds the minimum of the extended Rosenbrock function from the classic start', () => {
    const x0 = Float64Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
    const values: number[] = [];
    const r = minimizeLbfgs(rosenbrock, x0, { gradTol: 1e-8, lossTol: 0, onIteration: (i) => values.push(i.value) });
    expect(r.converged).toBe(true);
    expect(r.stopReason).toBe('gradient');
    expect(r.gradNorm).toBeLessThanOrEqual(1e-8);
    for (const v of r.x) expect(v).toBeCloseTo(1, 6);
    expect(r.value).toBeLessThan(1e-12);
    // Every accepted step satisfies sufficient decrease: the values strictly fall (one value per iteration).
    expect(values).toHaveLength(r.iterations);
    expect(values.length).toBeGreaterThan(10);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    expect(r.iterations).toBeLessThan(200);
    expect(Array.from(x0.slice(0, 2))).toEqual([-1.2, 1]); // the start is not modified
  });

  it('solves a convex quadratic ½xᵀAx − bᵀx (A diagonal, condition 1000) to its closed-form solution', () => {
    const diag = Float64Array.from({ length: 20 }, (_, i) => 10 ** ((3 * i) / 19));
    const b = Float64Array.from({ length: 20 }, (_, i) => Math.sin(i + 1));
    const f: Objective = (x) => {
      let value = 0;
      const grad = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        value += 0.5 * diag[i] * x[i] * x[i] - b[i] * x[i];
        grad[i] = diag[i] * x[i] - b[i];
      }
      return { value, grad };
    };
    // (Much below ‖∇f‖∞ ~ 1e-7 the decrease per step, ~‖∇f‖²/2, drowns in the float64 rounding of f ≈ −1.)
    const r = minimizeLbfgs(f, new Float64Array(20), { gradTol: 1e-6, lossTol: 0 });
    expect(r.stopReason).toBe('gradient');
    r.x.forEach((v, i) => expect(v).toBeCloseTo(b[i] / diag[i], 5));
  });

  it('stops at maxIterations and says it did not converge', () => {
    const r = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIterations: 3, gradTol: 0, lossTol: 0 });
    expect(r.iterations).toBe(3);
    expect(r.converged).toBe(false);
    expect(r.stopReason).toBe('max-iterations');
    expect(r.value).toBeLessThan(rosenbrock(Float64Array.from([-1.2, 1])).value);
  });

  it('stops on the relative-loss tolerance', () => {
    const r = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { gradTol: 0, lossTol: 1e-3 });
    expect(r.stopReason).toBe('loss');
    expect(r.converged).toBe(true);
  });

  it('returns at once from a stationary start', () => {
    const r = minimizeLbfgs(rosenbrock, Float64Array.from([1, 1]));
    expect(r.iterations).toBe(0);
    expect(r.evaluations).toBe(1);
    expect(r.stopReason).toBe('gradient');
  });
});
