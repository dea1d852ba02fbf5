// Backend selection: the one place that decides which TensorFlow.js backend a process runs on.
//
// Order tried (fastest first): tfjs-node-gpu (only when CUDA is usable), tfjs-node (native libtensorflow),
// tfjs-backend-wasm (portable, with this project's training kernels registered), and the pure-JS `cpu`.
// `UNIGRAD_BACKEND=gpu|node|wasm|cpu` forces one and fails clearly when it cannot be had.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { initWasmWithThreads, wasmThreadsFromEnv } from './wasm-threads';

export const BACKEND_NAMES = ['gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendChoice {
  /** Our name for it (gpu | node | wasm | cpu). */
  name: BackendName;
  /** tf.getBackend() after selection (tensorflow | wasm | cpu). */
  tfBackend: string;
  /** Why each faster backend was skipped, in order tried. */
  skipped: { name: BackendName; reason: string }[];
  /** Whether the name was forced through UNIGRAD_BACKEND (or the `force` option). */
  forced: boolean;
}

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    reason: string,
  ) {
    super(`UNIGRAD_BACKEND=${backend} was requested but is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** Hooks run after a backend is set (e.g. the wasm training kernels); kept here so core has no upward deps. */
type BackendHook = (name: BackendName) => void | Promise<void>;
const afterSelectHooks: BackendHook[] = [];
export function onBackendSelected(hook: BackendHook): void {
  afterSelectHooks.push(hook);
}

const INSTALL_HINT: Record<'gpu' | 'node', string> = {
  node:
    '@tensorflow/tfjs-node is not installed (its install script downloads libtensorflow, which this machine cannot reach). ' +
    'Install it offline with `npm run setup:native` (see README, "Native backend"), or pick UNIGRAD_BACKEND=wasm|cpu.',
  gpu:
    '@tensorflow/tfjs-node-gpu is not installed. On a CUDA machine run `npm run setup:native -- --gpu` ' +
    '(see README, "Native backend"), or pick UNIGRAD_BACKEND=node|wasm|cpu.',
};

function packageInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** CUDA counts as usable when the driver library is present; tfjs-node-gpu itself fails to load otherwise. */
function cudaUsable(): string | null {
  const candidates = [
    '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
    '/usr/lib64/libcuda.so.1',
    '/usr/local/cuda/lib64/stubs/libcuda.so',
    '/usr/lib/wsl/lib/libcuda.so.1',
  ];
  if (candidates.some((p) => existsSync(p))) return null;
  return 'no CUDA driver (libcuda.so.1) found';
}

async function tryNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', name: 'gpu' | 'node'): Promise<string | null> {
  if (!packageInstalled(pkg)) return INSTALL_HINT[name];
  if (name === 'gpu') {
    const cuda = cudaUsable();
    if (cuda) return cuda;
  }
  try {
    // Loading the package registers the 'tensorflow' backend with the shared tfjs-core engine.
    require(pkg);
  } catch (err) {
    return `${pkg} failed to load its native binding: ${(err as Error).message.split('\n')[0]}. Re-run \`npm run setup:native\`.`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but the 'tensorflow' backend failed to initialise`;
  return null;
}

/** Absolute directory of the wasm binaries, so the wasm backend loads them from disk under Node. */
export function wasmBinaryDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

async function tryWasm(): Promise<string | null> {
  if (!packageInstalled('@tensorflow/tfjs-backend-wasm')) return '@tensorflow/tfjs-backend-wasm is not installed (run `npm ci`)';
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBinaryDir());
    const { ok } = await initWasmWithThreads(wasm, wasmThreadsFromEnv(), () => tf.setBackend('wasm'));
    if (!ok) return 'the wasm backend failed to initialise';
    registerWasmTrainingKernels();
  } catch (err) {
    return `the wasm backend failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

async function tryCpu(): Promise<string | null> {
  return (await tf.setBackend('cpu')) ? null : 'the cpu backend failed to initialise';
}

const attempts: Record<BackendName, () => Promise<string | null>> = {
  gpu: () => tryNative('@tensorflow/tfjs-node-gpu', 'gpu'),
  node: () => tryNative('@tensorflow/tfjs-node', 'node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

let current: BackendChoice | null = null;

/** Parses UNIGRAD_BACKEND (undefined when unset or empty); an unknown value is an error naming the choices. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const raw = env.UNIGRAD_BACKEND?.trim().toLowerCase();
  if (!raw || raw === 'auto') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as BackendName;
  throw new Error(`UNIGRAD_BACKEND=${env.UNIGRAD_BACKEND} is not a backend; use one of ${BACKEND_NAMES.join(', ')} (or unset it for automatic choice)`);
}

export interface InitBackendOptions {
  /** Force one backend (overrides UNIGRAD_BACKEND). */
  force?: BackendName;
  /** Print the one-line backend report (default true). */
  log?: boolean;
}

/**
 * Selects and initialises the backend. Idempotent: a second call with the same request returns the first choice.
 * Throws BackendUnavailableError when a forced backend is unavailable.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const forcedName = options.force ?? backendFromEnv();
  if (current && (!forcedName || forcedName === current.name)) return current;

  // Silences tfjs's "install the node backend" banner and its debug-mode checks; we print our own line.
  tf.env().set('PROD', true);

  const skipped: BackendChoice['skipped'] = [];
  const order: BackendName[] = forcedName ? [forcedName] : [...BACKEND_NAMES];
  for (const name of order) {
    const failure = await attempts[name]();
    if (failure === null) {
      for (const hook of afterSelectHooks) await hook(name);
      current = { name, tfBackend: tf.getBackend(), skipped, forced: forcedName !== undefined };
      if (options.log ?? true) console.log(describeBackend(current));
      return current;
    }
    if (forcedName) throw new BackendUnavailableError(name, failure);
    skipped.push({ name, reason: failure });
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The one line every run prints: which backend, and why the faster ones were skipped. */
export function describeBackend(choice: BackendChoice): string {
  const how = choice.forced ? 'forced by UNIGRAD_BACKEND' : 'auto';
  const why = choice.skipped.map((s) => `${s.name}: ${s.reason}`).join(' | ');
  return `[unigrad] backend=${choice.name} (tf '${choice.tfBackend}', ${how})${why ? `; skipped ${why}` : ''}`;
}

/** The backend chosen so far, or null before initBackend(). */
export function currentBackend(): BackendChoice | null {
  return current;
}
