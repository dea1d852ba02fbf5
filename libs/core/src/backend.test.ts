import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, backendFromEnv, describeBackend, initBackend } from './backend';
import { relativeError } from './numeric';

describe('backendFromEnv', () => {
  it('parses the four names and auto', () => {
    expect(backendFromEnv({ UNIGRAD_BACKEND: 'WASM' })).toBe('wasm');
    expect(backendFromEnv({ UNIGRAD_BACKEND: 'cpu' })).toBe('cpu');
    expect(backendFromEnv({})).toBeUndefined();
    expect(backendFromEnv({ UNIGRAD_BACKEND: 'auto' })).toBeUndefined();
  });
  it('rejects an unknown name and lists the valid ones', () => {
    expect(() => backendFromEnv({ UNIGRAD_BACKEND: 'cuda' })).toThrow(/gpu, node, wasm, cpu/);
  });
});

describe('initBackend', () => {
  it('selects cpu and wasm when forced', async () => {
    const cpu = await initBackend({ force: 'cpu', log: false });
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend({ force: 'wasm', log: false });
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(describeBackend(wasm)).toMatch(/backend=wasm .*forced/);
  });

  // Each case runs only where its failure arises; the skip says so (CI has tfjs-node but no CUDA driver, so there the
  // gpu case runs and the node case is skipped).
  const installed = (pkg: string): boolean => {
    try {
      require.resolve(`${pkg}/package.json`);
      return true;
    } catch {
      return false;
    }
  };
  const cudaDriver = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1', '/usr/local/cuda/lib64/stubs/libcuda.so', '/usr/lib/wsl/lib/libcuda.so.1'].some((p) => existsSync(p));

  it.skipIf(installed('@tensorflow/tfjs-node'))('fails clearly when a forced native backend is not installed (skipped: tfjs-node is installed here)', async () => {
    const error = await initBackend({ force: 'node', log: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/tfjs-node is not installed/);
    expect((error as Error).message).toMatch(/npm run setup:native/);
  });

  it.skipIf(cudaDriver && installed('@tensorflow/tfjs-node-gpu'))('fails clearly when the gpu backend is forced without CUDA or tfjs-node-gpu (skipped: both are here)', async () => {
    const before = tf.getBackend();
    const error = await initBackend({ force: 'gpu', log: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).backend).toBe('gpu');
    const reason = installed('@tensorflow/tfjs-node-gpu') ? /no CUDA driver \(libcuda\.so\.1\) found/ : /tfjs-node-gpu is not installed.*setup:native -- --gpu/;
    expect((error as Error).message).toMatch(/^UNIGRAD_BACKEND=gpu was requested but is not available: /);
    expect((error as Error).message).toMatch(reason);
    // A failed forced choice leaves the backend already selected in place.
    expect(tf.getBackend()).toBe(before);
  });
});

describe('backend parity', () => {
  // A small conv forward and its gradient with respect to the input and the filter must agree across backends.
  async function convForwardAndGrads(backend: 'cpu' | 'wasm') {
    await initBackend({ force: backend, log: false });
    const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37)), [2, 6, 6, 3]);
    const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11) * 0.5), [3, 3, 3, 4]);
    const f = (xi: tf.Tensor4D, wi: tf.Tensor4D) => tf.conv2d(xi, wi, 1, 'same').square().sum();
    const y = tf.conv2d(x, w, 1, 'same');
    const [gx] = tf.grads((xi: tf.Tensor) => f(xi as tf.Tensor4D, w))([x]);
    const out = { y: await y.data(), gx: await gx.data() };
    tf.dispose([x, w, y, gx]);
    return out;
  }

  it('cpu and wasm agree within float32 tolerance', async () => {
    const cpu = await convForwardAndGrads('cpu');
    const wasm = await convForwardAndGrads('wasm');
    for (const key of ['y', 'gx'] as const) {
      const a = cpu[key];
      const b = wasm[key];
      expect(b.length).toBe(a.length);
      // Error relative to the tensor's scale: float32 summation order differs between backends.
      expect(relativeError(b, a)).toBeLessThan(1e-5);
    }
  });
});
