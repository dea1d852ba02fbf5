// Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed.: Algorithm 7.4, the two-loop recursion,
// and Algorithms 3.5/3.6, a line search satisfying the strong Wolfe conditions with safeguarded cubic interpolation).
// Unconstrained minimisation of a smooth function given its value and gradient; the iterate and the curvature pairs
// are float64. Hand-written because no maintained npm package does this (checked: `lbfgs` and `ml-optimize-lbfgs`
// do not exist; `optimization-js` 1.5.0 is unmaintained and ships browserify/jsdoc as runtime dependencies; `fmin`
// 0.0.4 has conjugate gradient, not L-BFGS).

/** f(x) and ∇f(x). The returned gradient must be a fresh array (the minimiser keeps it). */
export type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

export interface LbfgsOptions {
  /** Curvature pairs kept (default 10). */
  memory?: number;
  /** Iterations (accepted line-search steps) at most; default 1000. */
  maxIterations?: number;
  /** Stop when ‖∇f‖∞ ≤ gradTol (default 1e-4, scikit-learn's default `tol` for its lbfgs solver). */
  gradTol?: number;
  /** Stop when an iteration lowers f by ≤ lossTol·max(|f_k|, |f_k+1|, 1) (default 1e-9, as scipy's factr·eps). */
  lossTol?: number;
  /** Sufficient-decrease (Armijo) constant c1 (default 1e-4). */
  c1?: number;
  /** Curvature (Wolfe) constant c2 (default 0.9, the usual value for quasi-Newton methods). */
  c2?: number;
  /** Function evaluations per line search at most (default 25). */
  maxLineSearchEvaluations?: number;
  /** Called after every accepted step. */
  onIteration?: (info: { iteration: number; value: number; gradNorm: number; step: number }) => void;
}

/**
 * Why the minimiser stopped. 'gradient' and 'loss' are convergence; 'max-iterations' is not; 'line-search' means no
 * step along the steepest-descent direction lowered f (in practice: f is flat to its rounding error there).
 */
export type LbfgsStopReason = 'gradient' | 'loss' | 'max-iterations' | 'line-search';

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  grad: Float64Array;
  /** ‖∇f(x)‖∞. */
  gradNorm: number;
  /** Accepted steps. */
  iterations: number;
  /** Objective evaluations, the initial one included. */
  evaluations: number;
  /** stopReason is 'gradient' or 'loss'. */
  converged: boolean;
  stopReason: LbfgsStopReason;
}

interface Point {
  alpha: number;
  value: number;
  /** Directional derivative ∇f(x + αp)·p. */
  slope: number;
  grad: Float64Array;
}

/** Minimises `f` from `x0` (not modified). */
export function minimizeLbfgs(f: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const memory = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const gradTol = options.gradTol ?? 1e-4;
  const lossTol = options.lossTol ?? 1e-9;
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxEvals = options.maxLineSearchEvaluations ?? 25;
  if (!Number.isInteger(memory) || memory < 1) throw new Error(`L-BFGS memory must be a positive integer, got ${memory}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) throw new Error(`L-BFGS maxIterations must be an integer >= 0, got ${maxIterations}`);
  if (!(gradTol >= 0) || !(lossTol >= 0)) throw new Error(`L-BFGS tolerances must be >= 0, got gradTol ${gradTol}, lossTol ${lossTol}`);
  if (!(0 < c1 && c1 < c2 && c2 < 1)) throw new Error(`L-BFGS needs 0 < c1 < c2 < 1, got c1 ${c1}, c2 ${c2}`);

  const n = x0.length;
  let x = Float64Array.from(x0);
  let evaluations = 0;
  const evaluate = (at: Float64Array): { value: number; grad: Float64Array } => {
    evaluations++;
    const r = f(at);
    if (r.grad.length !== n) throw new Error(`L-BFGS: the objective returned a gradient of length ${r.grad.length}, expected ${n}`);
    return r;
  };
  let { value, grad } = evaluate(x);
  if (!Number.isFinite(value)) throw new Error(`L-BFGS: the objective is ${value} at the starting point`);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  let iterations = 0;
  let stopReason: LbfgsStopReason = 'max-iterations';
  const finish = (): LbfgsResult => ({
    x,
    value,
    grad,
    gradNorm: maxAbs(grad),
    iterations,
    evaluations,
    converged: stopReason === 'gradient' || stopReason === 'loss',
    stopReason,
  });
  if (maxAbs(grad) <= gradTol) {
    stopReason = 'gradient';
    return finish();
  }

  while (iterations < maxIterations) {
    let direction = twoLoop(grad, s, y, rho);
    let slope0 = dot(grad, direction);
    if (!(slope0 < 0)) {
      // Not a descent direction (rounding in the curvature pairs): forget them and use −∇f.
      s.length = y.length = rho.length = 0;
      direction = scaled(grad, -1);
      slope0 = -dot(grad, grad);
    }
    // Without curvature pairs the direction has the gradient's scale: start with a unit-length step.
    const alpha0 = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope0)) : 1;
    let accepted = lineSearch(evaluate, x, value, slope0, direction, alpha0, c1, c2, maxEvals);
    if (!accepted && s.length > 0) {
      s.length = y.length = rho.length = 0;
      direction = scaled(grad, -1);
      slope0 = -dot(grad, grad);
      accepted = lineSearch(evaluate, x, value, slope0, direction, Math.min(1, 1 / Math.sqrt(-slope0)), c1, c2, maxEvals);
    }
    if (!accepted) {
      stopReason = 'line-search';
      break;
    }
    const xNew = new Float64Array(n);
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = accepted.alpha * direction[i];
      xNew[i] = x[i] + sk[i];
      yk[i] = accepted.grad[i] - grad[i];
    }
    const sy = dot(sk, yk);
    // The strong Wolfe conditions give sᵀy > 0; keep the pair only when rounding has not destroyed that.
    if (sy > 1e-10 * dot(yk, yk)) {
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
      if (s.length > memory) {
        s.shift();
        y.shift();
        rho.shift();
      }
    }
    const decrease = value - accepted.value;
    const relativeDecrease = decrease / Math.max(Math.abs(value), Math.abs(accepted.value), 1);
    x = xNew;
    value = accepted.value;
    grad = accepted.grad;
    iterations++;
    const gradNorm = maxAbs(grad);
    options.onIteration?.({ iteration: iterations, value, gradNorm, step: accepted.alpha });
    if (gradNorm <= gradTol) {
      stopReason = 'gradient';
      break;
    }
    if (relativeDecrease <= lossTol) {
      stopReason = 'loss';
      break;
    }
  }
  return finish();
}

/** −H·g by the two-loop recursion, with H₀ = (sᵀy / yᵀy)·I from the newest pair (N&W eq. 7.20). */
function twoLoop(g: Float64Array, s: Float64Array[], y: Float64Array[], rho: number[]): Float64Array {
  const q = Float64Array.from(g);
  const k = s.length;
  const a = new Array<number>(k);
  for (let i = k - 1; i >= 0; i--) {
    a[i] = rho[i] * dot(s[i], q);
    axpy(-a[i], y[i], q);
  }
  if (k > 0) {
    const gamma = dot(s[k - 1], y[k - 1]) / dot(y[k - 1], y[k - 1]);
    for (let j = 0; j < q.length; j++) q[j] *= gamma;
  }
  for (let i = 0; i < k; i++) {
    const b = rho[i] * dot(y[i], q);
    axpy(a[i] - b, s[i], q);
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j];
  return q;
}

/**
 * A step α > 0 along p satisfying the strong Wolfe conditions
 *   φ(α) ≤ φ(0) + c1·α·φ'(0)   and   |φ'(α)| ≤ c2·|φ'(0)|,   φ(α) = f(x + α·p),
 * found by bracketing (doubling α) then zooming. When the evaluation budget runs out, the best point found that
 * satisfies sufficient decrease is returned (a weaker step, still a decrease); null if there is none.
 */
function lineSearch(
  evaluate: (at: Float64Array) => { value: number; grad: Float64Array },
  x: Float64Array,
  value0: number,
  slope0: number,
  p: Float64Array,
  alphaInit: number,
  c1: number,
  c2: number,
  maxEvals: number,
): Point | null {
  let evals = 0;
  let bestArmijo: Point | null = null;
  const at = (alpha: number): Point => {
    evals++;
    const xt = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) xt[i] = x[i] + alpha * p[i];
    const r = evaluate(xt);
    const point = { alpha, value: r.value, slope: dot(r.grad, p), grad: r.grad };
    if (armijo(point) && point.value < value0 && (!bestArmijo || point.value < bestArmijo.value)) bestArmijo = point;
    return point;
  };
  const armijo = (q: Point): boolean => Number.isFinite(q.value) && q.value <= value0 + c1 * q.alpha * slope0;
  const curvature = (q: Point): boolean => Math.abs(q.slope) <= -c2 * slope0;

  let prev: Point = { alpha: 0, value: value0, slope: slope0, grad: new Float64Array(0) };
  let alpha = alphaInit;
  let first = true;
  while (evals < maxEvals) {
    const cur = at(alpha);
    if (!armijo(cur) || (!first && cur.value >= prev.value)) return zoom(prev, cur);
    if (curvature(cur)) return cur;
    if (cur.slope >= 0) return zoom(cur, prev);
    prev = cur;
    alpha *= 2;
    first = false;
  }
  return bestArmijo;

  // lo satisfies sufficient decrease and has the lowest value seen in the bracket; φ'(lo)·(hi − lo) < 0.
  function zoom(lo: Point, hi: Point): Point | null {
    while (evals < maxEvals) {
      const width = hi.alpha - lo.alpha;
      if (Math.abs(width) <= 1e-16 * Math.max(1, Math.abs(lo.alpha))) break;
      let alpha = cubicMinimizer(lo, hi);
      const low = Math.min(lo.alpha, hi.alpha);
      const high = Math.max(lo.alpha, hi.alpha);
      const margin = 0.1 * (high - low);
      if (!Number.isFinite(alpha) || alpha < low + margin || alpha > high - margin) alpha = lo.alpha + 0.5 * width;
      const cur = at(alpha);
      if (!armijo(cur) || cur.value >= lo.value) {
        hi = cur;
      } else {
        if (curvature(cur)) return cur;
        if (cur.slope * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = cur;
      }
    }
    return bestArmijo;
  }
}

/** Minimiser of the cubic through (a, φa, φ'a) and (b, φb, φ'b) (N&W eq. 3.59); NaN when it has none. */
function cubicMinimizer(a: Point, b: Point): number {
  if (!Number.isFinite(a.value) || !Number.isFinite(b.value)) return NaN;
  const d1 = a.slope + b.slope - (3 * (a.value - b.value)) / (a.alpha - b.alpha);
  const disc = d1 * d1 - a.slope * b.slope;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b.alpha - a.alpha) * Math.sqrt(disc);
  return b.alpha - ((b.alpha - a.alpha) * (b.slope + d2 - d1)) / (b.slope - a.slope + 2 * d2);
}

function dot(a: Float64Array, b: Float64Array): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i] * b[i];
  return t;
}

function axpy(alpha: number, xv: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] += alpha * xv[i];
}

function scaled(v: Float64Array, k: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = k * v[i];
  return out;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}
