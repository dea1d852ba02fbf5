import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, batchNormTrain, conv2d, createBatchNorm, createConv2d, createLinear, globalAvgPool, linear, padSpatial, relu, VariableStore } from './layers';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = shift + scale * rng.normal();
  return tf.tensor(v, shape);
}

/** Per-channel mean and biased/unbiased variance of a [rows, C] array, in float64. */
function channelStats(values: Float32Array, channels: number) {
  const rows = values.length / channels;
  const mean = new Float64Array(channels);
  const biased = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) mean[i % channels] += values[i] / rows;
  for (let i = 0; i < values.length; i++) biased[i % channels] += (values[i] - mean[i % channels]) ** 2 / rows;
  const unbiased = biased.map((v) => (v * rows) / (rows - 1));
  return { mean, biased, unbiased, rows };
}

function sampleStats(values: Float32Array) {
  let mean = 0;
  for (const v of values) mean += v / values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2 / values.length;
  return { mean, std: Math.sqrt(variance) };
}

describe('batchNorm', () => {
  for (const shape of [
    [8, 4],
    [2, 3, 3, 4],
  ]) {
    it(`train mode on [${shape}] normalises with batch stats and updates running stats like PyTorch`, () => {
      const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 4);
      bn.gamma.assign(tf.tensor1d([1, 2, 0.5, -1]));
      bn.beta.assign(tf.tensor1d([0, 1, -1, 0.25]));
      const x1 = randomTensor(shape, 2, 3, 1);
      const x2 = randomTensor(shape, 3, 0.5, -2);
      const y = batchNorm(x1, bn, 'train');
      const v1 = x1.dataSync() as Float32Array;
      const s1 = channelStats(v1, 4);
      const gamma = [1, 2, 0.5, -1];
      const beta = [0, 1, -1, 0.25];
      const yv = y.dataSync();
      for (let i = 0; i < v1.length; i++) {
        const c = i % 4;
        const expected = ((v1[i] - s1.mean[c]) / Math.sqrt(s1.biased[c] + 1e-5)) * gamma[c] + beta[c];
        expect(yv[i]).toBeCloseTo(expected, 4);
      }
      // running = 0.9·running + 0.1·batch, var with the unbiased estimate; from (0, 1).
      const rm1 = Array.from(s1.mean, (m) => 0.1 * m);
      const rv1 = Array.from(s1.unbiased, (v) => 0.9 + 0.1 * v);
      expectClose(bn.runningMean.dataSync(), rm1, 5);
      expectClose(bn.runningVar.dataSync(), rv1, 5);

      batchNorm(x2, bn, 'train');
      const s2 = channelStats(x2.dataSync() as Float32Array, 4);
      expectClose(bn.runningMean.dataSync(), rm1.map((m, c) => 0.9 * m + 0.1 * s2.mean[c]), 5);
      expectClose(bn.runningVar.dataSync(), rv1.map((v, c) => 0.9 * v + 0.1 * s2.unbiased[c]), 5);
    });
  }

  it('eval mode normalises with the running stats and leaves them unchanged', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 3);
    bn.runningMean.assign(tf.tensor1d([1, -2, 0.5]));
    bn.runningVar.assign(tf.tensor1d([4, 0.25, 1]));
    bn.gamma.assign(tf.tensor1d([2, 1, 1]));
    bn.beta.assign(tf.tensor1d([0, 0, 3]));
    const x = tf.tensor2d([
      [3, -2, 0.5],
      [1, -1.5, 1.5],
    ]);
    const y = batchNorm(x, bn, 'eval').arraySync() as number[][];
    const s = (v: number) => 1 / Math.sqrt(v + 1e-5);
    expect(y[0][0]).toBeCloseTo(2 * 2 * s(4), 5);
    expect(y[1][1]).toBeCloseTo(0.5 * s(0.25), 4);
    expect(y[1][2]).toBeCloseTo(1 * s(1) + 3, 5);
    expectClose(bn.runningMean.dataSync(), [1, -2, 0.5], 7);
    expectClose(bn.runningVar.dataSync(), [4, 0.25, 1], 7);
  });

  it('train-mode gradient equals that of the explicit formula (gradient flows through the batch statistics)', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 3);
    bn.gamma.assign(tf.tensor1d([1.5, -0.5, 2]));
    const x = randomTensor([5, 2, 2, 3], 7, 2, 1);
    const w = randomTensor([5, 2, 2, 3], 8);
    const viaLayer = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(batchNorm(xx, bn, 'train'), w)))([x])[0];
    const viaFormula = tf.grads((xx: tf.Tensor) => {
      const mean = tf.mean(xx, [0, 1, 2]);
      const variance = tf.mean(tf.square(tf.sub(xx, mean)), [0, 1, 2]);
      const y = tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), bn.gamma), bn.beta);
      return tf.sum(tf.mul(y, w));
    })([x])[0];
    expectClose(viaLayer.dataSync(), Array.from(viaFormula.dataSync()), 4);
    // The gradient of a BN output is orthogonal to per-channel constants: it sums to ~0 per channel.
    const perChannel = tf.sum(viaLayer, [0, 1, 2]).dataSync();
    for (const v of perChannel) expect(Math.abs(v)).toBeLessThan(1e-4);
  });

  for (const shape of [
    [6, 5, 4, 3],
    [32, 3],
  ]) {
    it(`closed-form (customGrad) gradients on [${shape}] equal autodiff of the plain formula to 1e-5 of the largest`, () => {
      const axes = shape.length === 4 ? [0, 1, 2] : [0];
      // Off-centre, wide inputs: the closed form must not lose precision to a large mean.
      const x = randomTensor(shape, 11, 3, 5);
      const gamma = tf.tensor1d([1.5, -0.5, 2]);
      const beta = tf.tensor1d([0.1, -0.2, 0.3]);
      const w = randomTensor(shape, 12);
      const plain = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const mean = tf.mean(xx, axes);
        const variance = tf.mean(tf.square(tf.sub(xx, mean)), axes);
        return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      const custom = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const r = batchNormTrain(xx, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
        r.mean.dispose();
        r.variance.dispose();
        return r.y;
      };
      const loss = (f: typeof plain) => (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xx, g, b), w));
      const expected = tf.grads(loss(plain))([x, gamma, beta]);
      const actual = tf.grads(loss(custom))([x, gamma, beta]);
      ['x', 'gamma', 'beta'].forEach((name, i) => {
        const e = expected[i].dataSync();
        const a = actual[i].dataSync();
        const scale = Math.max(...Array.from(e, Math.abs));
        let worst = 0;
        for (let k = 0; k < e.length; k++) worst = Math.max(worst, Math.abs(a[k] - e[k]));
        expect(worst / scale, `d${name}`).toBeLessThanOrEqual(1e-5);
      });
      // Forward values and the returned statistics (biased variance).
      const r = batchNormTrain(x, gamma, beta, 1e-5);
      expectClose(r.y.dataSync(), Array.from(plain(x, gamma, beta).dataSync()), 4);
      const m = tf.moments(x, axes);
      expectClose(r.mean.dataSync(), Array.from(m.mean.dataSync()), 5);
      expectClose(r.variance.dataSync(), Array.from(m.variance.dataSync()), 4);
    });
  }

  it('leaves no tensors behind in train mode, with or without a gradient tape', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 3);
    const x = randomTensor([4, 3, 3, 3], 13);
    batchNorm(x, bn, 'train').dispose(); // first call may allocate backend state
    const before = tf.memory().numTensors;
    batchNorm(x, bn, 'train').dispose();
    const { value, grads } = tf.variableGrads(() => tf.sum(batchNorm(x, bn, 'train')) as tf.Scalar, [bn.gamma, bn.beta]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses train mode with a single value per channel, like PyTorch', () => {
    const bn = createBatchNorm(VariableStore.fromRng(new Rng(1)), 'bn', 2);
    expect(() => batchNorm(tf.ones([1, 2]), bn, 'train')).toThrow(/more than 1 value per channel/);
    expect(() => batchNorm(tf.ones([4, 3]), bn, 'train')).toThrow(/3 channels, layer expects 2/);
  });
});

describe('conv2d', () => {
  it('initialises with Kaiming-normal fan_out: std ≈ sqrt(2 / (out·k·k)), mean ≈ 0', () => {
    const conv = createConv2d(VariableStore.fromRng(new Rng(3)), 'c', { inChannels: 64, outChannels: 128, kernelSize: 3 });
    expect(conv.weight.shape).toEqual([3, 3, 64, 128]);
    const { mean, std } = sampleStats(conv.weight.dataSync() as Float32Array);
    const expected = Math.sqrt(2 / (128 * 9));
    expect(Math.abs(std / expected - 1)).toBeLessThan(0.01); // 73,728 draws: relative s.e. ≈ 0.26%
    expect(Math.abs(mean)).toBeLessThan(0.02 * expected);
  });

  it('pads symmetrically like PyTorch (3x3, stride 2, padding 1 on 6x6 → 3x3)', () => {
    const conv = createConv2d(VariableStore.fromRng(new Rng(4)), 'c', { inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, pad: 1 });
    const x = randomTensor([1, 6, 6, 2], 5);
    const y = conv2d(x as tf.Tensor4D, conv);
    expect(y.shape).toEqual([1, 3, 3, 3]);
    const xv = x.dataSync();
    const wv = conv.weight.dataSync();
    const yv = y.dataSync();
    for (let oh = 0; oh < 3; oh++) {
      for (let ow = 0; ow < 3; ow++) {
        for (let co = 0; co < 3; co++) {
          let acc = 0;
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const ih = oh * 2 - 1 + kh;
              const iw = ow * 2 - 1 + kw;
              if (ih < 0 || iw < 0 || ih >= 6 || iw >= 6) continue;
              for (let ci = 0; ci < 2; ci++) acc += xv[(ih * 6 + iw) * 2 + ci] * wv[((kh * 3 + kw) * 2 + ci) * 3 + co];
            }
          }
          expect(yv[(oh * 3 + ow) * 3 + co]).toBeCloseTo(acc, 4);
        }
      }
    }
  });

  for (const [kernelSize, stride, pad, size] of [
    [3, 1, 1, 6],
    [3, 2, 1, 7],
    [1, 2, 0, 6],
    [7, 2, 3, 9],
    [1, 1, 0, 5],
  ]) {
    it(`gives the stock TF.js gradients for k=${kernelSize}, stride ${stride}, pad ${pad} (cpu filter-gradient path)`, () => {
      const conv = createConv2d(VariableStore.fromRng(new Rng(kernelSize + stride)), 'c', { inChannels: 3, outChannels: 4, kernelSize, stride, pad });
      const x = randomTensor([2, size, size, 3], 11);
      const upstream = tf.tidy(() => randomTensor(conv2d(x as tf.Tensor4D, conv).shape, 12));
      const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, upstream));
      const ours = tf.grads((xx: tf.Tensor, w: tf.Tensor) => loss(conv2d(xx as tf.Tensor4D, { weight: w as tf.Variable, stride, pad })))([x, conv.weight]);
      const stock = tf.grads((xx: tf.Tensor, w: tf.Tensor) => loss(tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, stride, pad)))([x, conv.weight]);
      for (let i = 0; i < 2; i++) {
        expect(ours[i].shape).toEqual(stock[i].shape);
        expect(tf.max(tf.abs(tf.sub(ours[i], stock[i]))).dataSync()[0]).toBeLessThan(1e-4);
      }
    });
  }

  it('zero padding + valid max-pool equals the −∞-padded max-pool on non-negative (post-ReLU) input', () => {
    // The ImageNet stem pools this way because the native backend lacks numeric pooling padding.
    const h = tf.relu(randomTensor([2, 9, 9, 3], 13)) as tf.Tensor4D;
    const viaZeroPad = tf.maxPool(padSpatial(h, 1, 0), 3, 2, 'valid');
    const torchLike = tf.maxPool(h, 3, 2, 1);
    expect(viaZeroPad.shape).toEqual([2, 5, 5, 3]);
    expect(Array.from(viaZeroPad.dataSync())).toEqual(Array.from(torchLike.dataSync()));
  });
});

describe('relu, max-pool order and global average pooling', () => {
  it('relu and globalAvgPool give the stock TF.js values and gradients', () => {
    const x = randomTensor([3, 4, 4, 5], 21);
    const w = randomTensor([3, 5], 22);
    const f = (useOurs: boolean) => (xx: tf.Tensor) => {
      const h = useOurs ? relu(xx) : tf.relu(xx);
      const pooled = useOurs ? globalAvgPool(h as tf.Tensor4D) : tf.mean(h, [1, 2]);
      return tf.sum(tf.mul(pooled, w));
    };
    expectClose(f(true)(x).dataSync(), Array.from(f(false)(x).dataSync()), 5);
    expectClose(tf.grad(f(true))(x).dataSync(), Array.from(tf.grad(f(false))(x).dataSync()), 6);
  });

  it('max-pool then ReLU (the convnet order) equals ReLU then max-pool, gradient included, with ties', () => {
    // Constant regions (as behind Fashion-MNIST objects) give tied window values, positive and negative.
    const values = Array.from(randomTensor([2, 6, 6, 3], 23).dataSync());
    for (let i = 0; i < 36; i++) values[i] = i < 18 ? 0.7 : -0.4;
    for (let i = 40; i < 46; i++) values[i] = 0;
    const x = tf.tensor(values, [2, 6, 6, 3]) as tf.Tensor4D;
    const w = randomTensor([2, 3, 3, 3], 24);
    const reluFirst = (xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(tf.relu(xx as tf.Tensor4D), 2, 2, 'valid'), w));
    const poolFirst = (xx: tf.Tensor) => tf.sum(tf.mul(relu(tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid')), w));
    expectClose(poolFirst(x).dataSync(), Array.from(reluFirst(x).dataSync()), 6);
    expectClose(tf.grad(poolFirst)(x).dataSync(), Array.from(tf.grad(reluFirst)(x).dataSync()), 6);
  });
});

describe('linear', () => {
  it('initialises weight and bias uniformly in ±1/sqrt(fan_in) (PyTorch default)', () => {
    const lin = createLinear(VariableStore.fromRng(new Rng(5)), 'l', 256, 512, { bias: true });
    const bound = 1 / 16;
    for (const v of [lin.weight, lin.bias!]) {
      const values = v.dataSync() as Float32Array;
      let min = Infinity;
      let max = -Infinity;
      for (const x of values) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      expect(min).toBeGreaterThanOrEqual(-bound);
      expect(max).toBeLessThanOrEqual(bound);
      expect(max - min).toBeGreaterThan(1.9 * bound);
      const { std } = sampleStats(values);
      expect(Math.abs(std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(values.length > 1000 ? 0.01 : 0.1);
    }
  });

  it('computes x·W + b with W stored [in, out], and has no bias when asked', () => {
    const store = VariableStore.fromRng(new Rng(6));
    const lin = createLinear(store, 'l', 2, 3, { bias: true });
    lin.weight.assign(tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]));
    lin.bias!.assign(tf.tensor1d([0.5, 0, -1]));
    expect(linear(tf.tensor2d([[1, -1]]), lin).arraySync()).toEqual([[-2.5, -3, -4]]);
    const noBias = createLinear(store, 'n', 2, 3, { bias: false });
    expect(noBias.bias).toBeNull();
    expect([...store.params.keys()]).toEqual(['l.weight', 'l.bias', 'n.weight']);
  });
});

describe('VariableStore', () => {
  it('rejects duplicate names and copies values into separate variables', () => {
    const store = VariableStore.fromRng(new Rng(7));
    createLinear(store, 'l', 3, 2, { bias: true });
    expect(() => createLinear(store, 'l', 3, 2, { bias: false })).toThrow(/duplicate params name 'l.weight'/);
    const copy = VariableStore.copying(store, false);
    const lin = createLinear(copy, 'l', 3, 2, { bias: true });
    expect(Array.from(lin.weight.dataSync())).toEqual(Array.from(store.params.get('l.weight')!.dataSync()));
    expect(lin.weight).not.toBe(store.params.get('l.weight'));
    expect(lin.weight.trainable).toBe(false);
    lin.weight.assign(tf.zerosLike(lin.weight));
    expect(store.params.get('l.weight')!.dataSync().some((v) => v !== 0)).toBe(true);
    expect(() => createLinear(copy, 'm', 3, 2, { bias: false })).toThrow(/source network has no such params entry/);
    expect(() => createLinear(VariableStore.copying(store, false), 'l', 2, 2, { bias: false })).toThrow(/source shape \[3,2\] differs/);
  });
});

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}
