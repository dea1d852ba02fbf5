import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { relativeError } from './numeric';
import { WASM_TRAINING_KERNELS, batchNormGradConfig, stockGradient } from './wasm-kernels';
import { wasmThreadPlan, wasmThreadsFromEnv } from './wasm-threads';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic values in [-1, 1) (a 32-bit LCG), so both backends see identical inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape);
}


/** Runs `f` on a backend and returns its outputs as plain arrays (inputs are rebuilt there from the seeds). */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const arrays = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return arrays;
}

/** The reference: tfjs's own autodiff on cpu, with its stock FusedBatchNorm gradient put back for the run. */
async function reference(f: () => tf.Tensor[]): Promise<Float32Array[]> {
  const stock = stockGradient('FusedBatchNorm');
  expect(stock).toBeDefined();
  tf.registerGradient(stock as tf.GradConfig);
  try {
    return await on('cpu', f);
  } finally {
    tf.registerGradient(batchNormGradConfig);
  }
}

async function expectSameOnBackends(f: () => tf.Tensor[], tolerance = 1e-5): Promise<void> {
  const expected = await reference(f);
  const fast = await on('wasm', f);
  expect(fast.length).toBe(expected.length);
  fast.forEach((a, i) => expect(relativeError(a, expected[i]), `output ${i}`).toBeLessThanOrEqual(tolerance));
}

beforeAll(async () => {
  // Threads are opt-in (they keep a process alive); this worker exercises them. vitest ends its workers itself.
  process.env.UNIGRAD_WASM_THREADS ??= '2';
  await initBackend({ force: 'cpu', log: false });
  await initBackend({ force: 'wasm', log: false });
});

describe('wasm training kernels', () => {
  it('are registered on wasm after backend selection', () => {
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    expect(WASM_TRAINING_KERNELS).toEqual(
      expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']),
    );
  });

  // [x shape, kernel size, out channels, stride, pad]: the ResNet and small-convnet variants.
  const convCases: [string, number[], number, number, number, Pad][] = [
    ['1x1 stride 2 valid (ResNet downsample)', [3, 10, 10, 8], 1, 12, 2, 'valid'],
    ['1x1 stride 2 same, odd input', [3, 9, 9, 8], 1, 6, 2, 'same'],
    ['3x3 stride 1 same', [4, 8, 8, 5], 3, 7, 1, 'same'],
    ['3x3 stride 1 valid', [2, 9, 7, 3], 3, 4, 1, 'valid'],
    ['3x3 stride 2 same, even input', [3, 10, 10, 6], 3, 8, 2, 'same'],
    ['3x3 stride 2 same, odd input', [3, 9, 9, 6], 3, 8, 2, 'same'],
    ['3x3 stride 2 pad 1', [2, 9, 10, 4], 3, 5, 2, 1],
    ['7x7 stride 2 pad 3 (ResNet stem)', [2, 16, 16, 3], 7, 8, 2, 3],
    ['3x3 stride 1 single input channel', [4, 12, 12, 1], 3, 6, 1, 'same'],
    ['3x3 explicit asymmetric pads', [2, 8, 9, 3], 3, 4, 2, [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ];
  for (const [name, xShape, k, co, stride, pad] of convCases) {
    it(`conv2d gradients match cpu autodiff: ${name}`, async () => {
      await expectSameOnBackends(() => {
        const x = randomTensor(xShape, 1) as tf.Tensor4D;
        const w = randomTensor([k, k, xShape[3], co], 2) as tf.Tensor4D;
        const outShape = tf.conv2d(x, w, stride, pad).shape;
        const r = randomTensor(outShape, 3);
        // Weighting the output makes dy non-uniform, so every kernel tap is checked.
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), r)))([x, w]);
        return [dx, dw];
      });
    });
  }

  const depthwiseCases: [string, number[], number, number, number, 'same' | 'valid' | number][] = [
    ['3x3 stride 1 same, multiplier 1', [3, 8, 8, 4], 3, 1, 1, 'same'],
    ['3x3 stride 2 same, multiplier 2', [2, 9, 9, 3], 3, 2, 2, 'same'],
    ['5x5 stride 1 valid, multiplier 1', [2, 10, 9, 2], 5, 1, 1, 'valid'],
    ['3x3 stride 2 pad 1, multiplier 1', [2, 10, 10, 4], 3, 1, 2, 1],
  ];
  for (const [name, xShape, k, m, stride, pad] of depthwiseCases) {
    it(`depthwiseConv2d gradients match cpu autodiff: ${name}`, async () => {
      await expectSameOnBackends(() => {
        const x = randomTensor(xShape, 4) as tf.Tensor4D;
        const w = randomTensor([k, k, xShape[3], m], 5) as tf.Tensor4D;
        const r = randomTensor(tf.depthwiseConv2d(x, w, stride, pad).shape, 6);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), r)),
        )([x, w]);
        return [dx, dw];
      });
    });
  }

  it('fused conv2d (bias + relu, as tf.layers uses) trains on wasm and matches cpu', async () => {
    await expectSameOnBackends(() => {
      const x = randomTensor([3, 9, 9, 4], 7) as tf.Tensor4D;
      const w = randomTensor([3, 3, 4, 6], 8) as tf.Tensor4D;
      const b = randomTensor([6], 9) as tf.Tensor1D;
      const r = randomTensor([3, 5, 5, 6], 10);
      const grads = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: c, strides: 2, pad: 'same', activation: 'relu' }), r)),
      )([x, w, b]);
      return grads;
    });
  });

  it('pooling, batch-norm statistics, relu and matMul gradients match cpu on wasm', async () => {
    await expectSameOnBackends(() => {
      const x = randomTensor([4, 8, 8, 3], 11) as tf.Tensor4D;
      const w = randomTensor([3, 5], 12) as tf.Tensor2D;
      const gamma = tf.add(randomTensor([3], 13), 1.5);
      const beta = randomTensor([3], 14);
      const loss = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        const normed = tf.relu(tf.batchNorm(a as tf.Tensor4D, mean, variance, o as tf.Tensor1D, g as tf.Tensor1D, 1e-3)) as tf.Tensor4D;
        const pooled = tf.add(tf.maxPool(normed, 2, 2, 'same'), tf.avgPool(normed, 3, 2, 'same'));
        return tf.sum(tf.square(tf.matMul(tf.mean(pooled, [1, 2]) as tf.Tensor2D, b as tf.Tensor2D)));
      };
      return tf.grads(loss)([x, w, gamma, beta]);
    });
  });

  // [shape, axes, keepDims]: pooled cases (leading or inner runs without the last axis) and stock fallbacks.
  const reductionCases: [number[], number | number[], boolean][] = [
    [[4, 6, 5, 3], [0, 1, 2], false],
    [[4, 6, 5, 3], [0, 1, 2], true],
    [[4, 6, 5, 3], [1, 2], false],
    [[4, 6, 5, 3], [2, 1], true],
    [[7, 3], 0, false],
    [[7, 3], -2, true],
    [[2, 3, 4, 5, 6], [1, 2, 3], false],
    [[4, 6, 5, 3], 3, false],
    [[4, 6, 5, 3], [0, 2], false],
    [[4, 6, 5, 3], [0, 1, 2, 3], false],
  ];
  for (const [shape, axis, keepDims] of reductionCases) {
    it(`sum and mean over ${JSON.stringify(axis)} of ${shape.join('x')} (keepDims ${keepDims}) match cpu`, async () => {
      await expectSameOnBackends(() => {
        const x = randomTensor(shape, 30);
        return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims), tf.sum(tf.cast(tf.mul(x, 10), 'int32'), axis, keepDims), tf.sum(x), tf.mean(x)];
      });
      await tf.setBackend('wasm');
      const x = randomTensor(shape, 30);
      expect(tf.sum(x, axis, keepDims).shape).toEqual(tf.sum(tf.cast(x, 'int32'), axis, keepDims).shape);
      x.dispose();
    });
  }

  it('runs NHWC statistics reductions as XNNPACK average pooling and leaves the last axis to the stock kernel', async () => {
    await tf.setBackend('wasm');
    const x = randomTensor([4, 6, 5, 3], 31);
    const kernelsOf = async (f: () => tf.Tensor) => (await tf.profile(() => tf.dispose(f()))).kernels.map((k) => k.name);
    expect(await kernelsOf(() => tf.sum(x, [0, 1, 2]))).toContain('AvgPool');
    expect(await kernelsOf(() => tf.mean(x, [1, 2]))).toContain('AvgPool');
    expect(await kernelsOf(() => tf.sum(x, 3))).not.toContain('AvgPool');
    x.dispose();
  });

  it('batch-norm gradient (broadcast form) equals the stock one on cpu and wasm', async () => {
    // (tf.batchNorm without a scale cannot be differentiated at all in tfjs 4.22: the engine fails saving it.)
    await expectSameOnBackends(() => {
      const x = randomTensor([3, 5, 4, 6], 15);
      const mean = tf.mul(randomTensor([6], 16), 0.1);
      const variance = tf.add(tf.abs(randomTensor([6], 17)), 0.5);
      const gamma = tf.add(randomTensor([6], 18), 1);
      const beta = randomTensor([6], 19);
      const r = randomTensor([3, 5, 4, 6], 20);
      const f = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(a, m, v, o, g, 1e-3), r));
      return tf.grads(f)([x, mean, variance, gamma, beta]);
    });
  });

  it('reject NCHW and dilation with a message naming the fix', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 1]);
    const dy = tf.zeros([1, 4, 4, 1]);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 1, 1] }),
    ).toThrow(/Conv2DBackpropFilter on wasm supports dataFormat NHWC only \(got NCHW\); transpose to NHWC first/);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 2, filterShape: [3, 3, 1, 1] }),
    ).toThrow(/Conv2DBackpropFilter on wasm supports dilation 1 only \(got 2x2\)/);
    tf.dispose([x, dy]);
  });
});

describe('training-step parity cpu vs wasm', () => {
  it('one step of a conv-BN-ReLU-pool-linear tf.layers model gives the same loss and gradients', async () => {
    await tf.setBackend('cpu');
    // Built once: its weights are moved between backends by tfjs when used, so both runs start from the same values.
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        // No bias before BN: its exact gradient is zero, so only float noise would be compared.
        tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      ],
    });
    const step = () => {
      const x = randomTensor([8, 12, 12, 1], 21);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      return [value, ...model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name])];
    };
    const expected = await reference(step);
    const fast = await on('wasm', step);
    expect(expected.length).toBe(1 + model.trainableWeights.length);
    expect(Math.abs(fast[0][0] - expected[0][0]) / Math.abs(expected[0][0])).toBeLessThanOrEqual(1e-5);
    for (let i = 1; i < expected.length; i++) {
      expect(relativeError(fast[i], expected[i]), model.trainableWeights[i - 1].name).toBeLessThanOrEqual(1e-5);
    }
    model.dispose();
  });
});

describe('wasm threads', () => {
  it('runs XNNPACK on the requested number of threads (capped at its pool of 8)', () => {
    const plan = wasmThreadPlan();
    expect(plan).not.toBeNull();
    expect(plan?.threads).toBe(Math.min(8, wasmThreadsFromEnv()));
  });

  it('parses UNIGRAD_WASM_THREADS and rejects bad values clearly', () => {
    expect(wasmThreadsFromEnv({ UNIGRAD_WASM_THREADS: '1' })).toBe(1);
    expect(wasmThreadsFromEnv({ UNIGRAD_WASM_THREADS: ' 3 ' })).toBe(3);
    expect(wasmThreadsFromEnv({})).toBe(1);
    expect(() => wasmThreadsFromEnv({ UNIGRAD_WASM_THREADS: 'two' })).toThrow(/positive integer/);
    expect(() => wasmThreadsFromEnv({ UNIGRAD_WASM_THREADS: '0' })).toThrow(/UNIGRAD_WASM_THREADS/);
  });
});
