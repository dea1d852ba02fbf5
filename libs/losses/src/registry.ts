// Name → method. Every method exposes both forms behind the one `Method` interface; everything that lists methods
// (the config's method enum, the experiments, the table rows, the npm scripts) derives from this registry.
import { LossInputError } from './common';
import { barlowTwins } from './barlow-twins';
import { byol } from './byol';
import { moco } from './moco';
import { simclr } from './simclr';
import { simsiam } from './simsiam';
import { unigrad } from './unigrad';
import { vicreg } from './vicreg';
import type { Branches, Form, Hyper, Method, MethodName, TargetMode } from './types';

/** The built-in methods, in the paper's table order. */
const BUILTIN: readonly Method[] = [moco, simclr, simsiam, byol, vicreg, barlowTwins, unigrad];

const registry = new Map<MethodName, Method>(BUILTIN.map((m) => [m.name, m]));

/** Adds a method (e.g. a new objective, or a toy one in a test). Its name must be new. */
export function registerMethod(method: Method): void {
  if (!/^[a-z][a-z0-9_]*$/.test(method.name)) throw new LossInputError(`method name ${JSON.stringify(method.name)} must be lower_snake_case`);
  if (registry.has(method.name)) throw new LossInputError(`method ${JSON.stringify(method.name)} is already registered`);
  registry.set(method.name, method);
}

/** Removes a method added with registerMethod (tests clean up with it); built-in methods stay. */
export function unregisterMethod(name: MethodName): void {
  if (BUILTIN.some((m) => m.name === name)) throw new LossInputError(`method ${JSON.stringify(name)} is built in and cannot be removed`);
  registry.delete(name);
}

/** Every registered method, in table order (built-ins first, then in registration order). */
export function listMethods(): Method[] {
  return [...registry.values()];
}

export function methodNames(): MethodName[] {
  return [...registry.keys()];
}

export function isMethodName(name: string): boolean {
  return registry.has(name);
}

export function getMethod(name: string): Method {
  const method = registry.get(name);
  if (!method) throw new LossInputError(`unknown method ${JSON.stringify(name)}; valid methods: ${methodNames().join(', ')}`);
  return method;
}

/** The built-in methods by name (read-only view; use getMethod for registered ones). */
export const METHODS: Readonly<Record<string, Method>> = Object.fromEntries(BUILTIN.map((m) => [m.name, m]));

/** Which branches a method needs in a form: originals as their papers define them, gradient forms per target. */
export function branchesFor(method: Method, form: Form, target: TargetMode): Branches {
  if (form === 'original') return { predictor: method.originalNeeds.predictor, momentum: method.originalNeeds.target === 'ema' };
  return { predictor: false, momentum: target === 'mm' };
}

/** The paper's embedding width, at which the spec's λ values were chosen (spec §7.1). */
export const PAPER_EMBEDDING_DIM = 2048;

/** Where a default comes from: the embedding width and batch of the run, and whether λ scales with the width. */
export interface HyperContext {
  dim: number;
  batchSize: number;
  scaleWithDim: boolean;
}

/**
 * A method's default hyper-parameters for a form: the spec's defaults, the `dimScaled` keys of the gradient form
 * multiplied by dim/2048 when `scaleWithDim` is on, and the `batchSized` keys set to the batch size.
 */
export function defaultHyper(method: Method, form: Form, context: HyperContext): Hyper {
  const hyper: Hyper = { ...(form === 'original' ? method.originalDefaults : method.defaults) };
  if (form === 'grad') {
    if (context.scaleWithDim) for (const key of method.dimScaled) if (hyper[key] !== undefined) hyper[key] = (hyper[key] * context.dim) / PAPER_EMBEDDING_DIM;
    for (const key of method.batchSized) hyper[key] = context.batchSize;
  }
  return hyper;
}

/** The hyper-parameters a method uses in a form (what `loss.*` may set for it). */
export function hyperKeysFor(method: Method, form: Form): (keyof Hyper)[] {
  const defaults = form === 'original' ? method.originalDefaults : method.defaults;
  return [...new Set([...(Object.keys(defaults) as (keyof Hyper)[]), ...(form === 'grad' ? method.batchSized : [])])];
}
