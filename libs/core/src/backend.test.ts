import * as tf from '@tensorflow/tfjs';
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

  it('fails clearly when a forced native backend is not installed', async () => {
    let installed = true;
    try {
      require.resolve('@tensorflow/tfjs-node/package.json');
    } catch {
      installed = false;
    }
    if (installed) return; // On a machine with the native backend this case does not arise.
    const error = await initBackend({ force: 'node', log: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/tfjs-node is not installed/);
    expect((error as Error).message).toMatch(/npm run setup:native/);
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
