// Multithreaded wasm under Node.
//
// tfjs-backend-wasm ships a threaded SIMD build (XNNPACK runs its conv/matmul threadpool on Emscripten pthreads,
// i.e. Node worker_threads), but disables it under Node (flag WASM_HAS_MULTITHREAD_SUPPORT is false there, tfjs
// issue #3830) because its loader hands the pthread workers `blob:` URLs: Node's Worker cannot start from a blob
// URL, and the worker's importScripts reads files with fs. We give both the worker and the Emscripten main script
// real file paths: URL.createObjectURL is intercepted (only while the backend initialises, only for the worker
// script) to return a generated worker file, and that worker imports the package's own
// wasm-out/tfjs-backend-wasm-threaded-simd.js instead of the Blob it is posted.
// Second obstacle: the C++ side caps the XNNPACK pool at emscripten_num_logical_cores()/2 (it assumes two
// hyperthreads per core), read once while the module initialises; on a 2-core machine that is 1 thread. During init
// os.cpus() (what Emscripten asks under Node) therefore reports 2x the requested threads.
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CpuInfo } from 'node:os';

// The live module object (what Emscripten's require("os") returns), not an import namespace, so cpus can be swapped.
const os = require('node:os') as { cpus: () => CpuInfo[]; availableParallelism: () => number; tmpdir: () => string };
import { dirname, join } from 'node:path';

/** What the threaded loader patch found; `reason` says why threads stay off. */
export interface WasmThreadPlan {
  threads: number;
  reason?: string;
}

const WORKER_FILE = 'tfjs-backend-wasm-threaded-simd.worker.js';
const MAIN_FILE = 'tfjs-backend-wasm-threaded-simd.js';
// The branch of the stock worker that loads the main script; replaced by an import of the real file.
const LOAD_BRANCH =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/**
 * Threads wanted: UNIGRAD_WASM_THREADS when set, else 1. Threads are opt-in because Emscripten's pthread workers
 * keep a Node process alive after its work is done (a CLI run on wasm would never exit); a script that sets
 * UNIGRAD_WASM_THREADS=2 must end with process.exit. A bad value is an error naming the fix.
 */
export function wasmThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UNIGRAD_WASM_THREADS?.trim();
  if (!raw) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`UNIGRAD_WASM_THREADS=${raw} is not a positive integer; set it to the number of wasm threads (1 = single-threaded)`);
  }
  return n;
}

function wasmOutDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
}

/** Writes (once per content) the worker that imports the threaded main script from disk; returns its path. */
function writeWorkerFile(): string {
  const outDir = wasmOutDir();
  // The shipped worker file is a CommonJS module exporting the worker source as a string.
  const stock = (require(join(outDir, WORKER_FILE)) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof stock !== 'string') throw new Error(`${WORKER_FILE} of this tfjs-backend-wasm version exports no wasmWorkerContents`);
  if (!stock.includes(LOAD_BRANCH)) {
    throw new Error(`${WORKER_FILE} of this tfjs-backend-wasm version has an unexpected loader; threads need a review of wasm-threads.ts`);
  }
  // Newlines inside its string literals arrive unescaped (as in tfjs's own Blob path, which re-escapes them).
  const patched = stock
    .replace(/\n/g, '\\n')
    .replace(LOAD_BRANCH, `importScripts(${JSON.stringify(join(outDir, MAIN_FILE))});`);
  const version = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
  const dir = join(os.tmpdir(), `unigrad-wasm-threads-${version}`);
  const file = join(dir, WORKER_FILE);
  if (existsSync(file) && readFileSync(file, 'utf8') === patched) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, patched);
  renameSync(tmp, file);
  return file;
}

let lastPlan: WasmThreadPlan | null = null;

/** The thread plan of the last wasm initialisation in this process (null before one). */
export function wasmThreadPlan(): WasmThreadPlan | null {
  return lastPlan;
}

/**
 * Initialises the wasm backend (calls `init`, normally `() => tf.setBackend('wasm')`) with `threads` XNNPACK threads
 * when more than one is asked for. Must run before the wasm backend is first initialised in the process.
 */
export async function initWasmWithThreads(
  wasmModule: { setThreadsCount(n: number): void; getThreadsCount(): number },
  threads: number,
  init: () => Promise<boolean>,
): Promise<{ ok: boolean; plan: WasmThreadPlan }> {
  const result = await initWasmWithThreadsOnce(wasmModule, threads, init);
  lastPlan = result.plan;
  return result;
}

async function initWasmWithThreadsOnce(
  wasmModule: { setThreadsCount(n: number): void; getThreadsCount(): number },
  threads: number,
  init: () => Promise<boolean>,
): Promise<{ ok: boolean; plan: WasmThreadPlan }> {
  if (threads <= 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return { ok: await init(), plan: { threads: 1, reason: 'one thread requested' } };
  }
  let workerFile: string;
  try {
    workerFile = writeWorkerFile();
  } catch (err) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return { ok: await init(), plan: { threads: 1, reason: (err as Error).message } };
  }
  const originalCreate = URL.createObjectURL;
  const originalCpus = os.cpus;
  const cpus = originalCpus();
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  // The loader turns its embedded worker source into a Blob of this type; everything else passes through.
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === 'application/javascript' ? workerFile : originalCreate.call(URL, obj);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmModule.setThreadsCount(threads);
  try {
    const ok = await init();
    const actual = ok ? wasmModule.getThreadsCount() : 1;
    return { ok, plan: actual === threads ? { threads } : { threads: actual, reason: `XNNPACK started ${actual} of ${threads} threads` } };
  } finally {
    URL.createObjectURL = originalCreate;
    os.cpus = originalCpus;
  }
}
