// Starting and stopping a real `mlflow server` from the venv made by `npm run mlflow:setup` (for integration
// tests; `npm run mlflow` uses tools/mlflow-server.sh).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { workspaceRoot } from './store';

/** The `mlflow` executable of .venv/mlflow, or undefined when `npm run mlflow:setup` has not been run. */
export function mlflowVenvBin(root = workspaceRoot()): string | undefined {
  const bin = join(root, '.venv', 'mlflow', 'bin', 'mlflow');
  return existsSync(bin) ? bin : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface MlflowServer {
  readonly url: string;
  readonly port: number;
  /** Holds mlflow.db, artifacts/ and server.log. */
  readonly dir: string;
  /** Stops the server (SIGTERM to its process group) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop()). */
  start(): Promise<void>;
}

export interface StartMlflowServerOptions {
  dir: string;
  port?: number;
  bin?: string;
  /** How long to wait for /health (default 90 s; the first start migrates the sqlite schema). */
  timeoutMs?: number;
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tracking: mlflow server exited with code ${child.exitCode}; see ${logFile}.`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`tracking: mlflow server at ${url} not healthy after ${timeoutMs} ms; see ${logFile}.`);
}

export async function startMlflowServer(options: StartMlflowServerOptions): Promise<MlflowServer> {
  const bin = options.bin ?? mlflowVenvBin();
  if (!bin) throw new Error('tracking: no MLflow venv at .venv/mlflow; run `npm run mlflow:setup` first.');
  const dir = resolve(options.dir);
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'server.log');
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(logFile, 'a');
    child = spawn(
      bin,
      ['server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1',
        '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`, '--artifacts-destination', join(dir, 'artifacts')],
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, MLFLOW_TRACKING_URI: '' } },
    );
    closeSync(log);
    await waitHealthy(url, child, options.timeoutMs ?? 90_000, logFile);
  };

  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      process.kill(-c.pid, 'SIGTERM'); // the whole group: mlflow spawns uvicorn workers
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    // Wait until the port is free again, so a restart on the same port succeeds.
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        return;
      }
    }
  };

  await start();
  return { url, port, dir, stop, start };
}
