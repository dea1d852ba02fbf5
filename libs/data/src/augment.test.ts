import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AugmentConfig,
  applyViews,
  augment,
  cropBox,
  evalTransform,
  linearTrainAugment,
  moco2Augment,
  sampleCropRect,
  sampleViewParams,
  twoViews,
} from './augment';
import { gaussianBlur, gaussianKernel1d } from './blur';
import { adjustHue, blendWithReference, BlendKind, grayscale } from './color';

/** A batch of smooth, distinct RGB (or gray) images in [0, 1]. */
function sampleImages(n: number, size: number, channels: 1 | 3, seed = 1): tf.Tensor4D {
  const rng = new Rng(seed);
  const v = new Float32Array(n * size * size * channels);
  for (let b = 0; b < n; b++) {
    const phase = [rng.next(), rng.next(), rng.next()];
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < channels; c++) v[((b * size + y) * size + x) * channels + c] = 0.5 + 0.45 * Math.sin((x + 2 * y) / (3 + c) + 6 * phase[c]);
  }
  return tf.tensor4d(v, [n, size, size, channels]);
}

/** Identity augmentation except what a test switches on. */
function plain(size: number, channels: 1 | 3): AugmentConfig {
  return {
    imageSize: size,
    channels,
    crop: { scale: [1, 1], ratio: [1, 1] },
    colorJitter: null,
    grayscaleP: 0,
    blur: null,
    flipP: 0,
    mean: new Array(channels).fill(0),
    std: new Array(channels).fill(1),
  };
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** Binomial count within 5 standard deviations of n·p. */
function expectRate(count: number, n: number, p: number) {
  expect(Math.abs(count - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
}

describe('RandomResizedCrop sampling (torchvision get_params)', () => {
  it('keeps area fraction and aspect ratio in range (up to rounding) and averages as expected', () => {
    const rng = new Rng(123);
    const H = 224;
    const W = 224;
    let sumFraction = 0;
    const draws = 20000;
    let violations = 0;
    for (let i = 0; i < draws; i++) {
      const r = sampleCropRect(rng, H, W, [0.2, 1], [3 / 4, 4 / 3]);
      const inside = r.top >= 0 && r.left >= 0 && r.top + r.height <= H && r.left + r.width <= W;
      // Sides are rounded, so the unrounded sides lie within ±0.5 of them.
      const areaOk = (r.height + 0.5) * (r.width + 0.5) >= 0.2 * H * W && r.height * r.width <= H * W;
      const ratioOk = r.width - 0.5 <= (4 / 3) * (r.height + 0.5) && r.width + 0.5 >= (3 / 4) * (r.height - 0.5);
      if (!inside || !areaOk || !ratioOk) violations++;
      sumFraction += (r.height * r.width) / (H * W);
    }
    expect(violations).toBe(0);
    // On a square image a draw (f, a) fits iff f <= min(a, 1/a), so accepted area fractions have mean
    // ∫ (m² − 0.04)/2 / ∫ (m − 0.2) over m = exp(−|log a|), |log a| ~ U[0, log 4/3]: 0.5384 (numerically).
    // Rounding the sides to pixels adds ~0.002; 20,000 draws have a standard error of ~0.0016.
    expect(Math.abs(sumFraction / draws - 0.5384)).toBeLessThan(0.007);
  });

  it('falls back to the ratio-clamped centre crop when nothing fits', () => {
    // A 10×1000 strip: no crop of area ≥ 0.9 with ratio ≤ 4/3 fits, so the fallback is a 10×13 centre crop.
    const r = sampleCropRect(new Rng(1), 10, 1000, [0.9, 1], [3 / 4, 4 / 3]);
    expect(r).toEqual({ top: 0, left: Math.floor((1000 - 13) / 2), height: 10, width: 13 });
  });

  it('linear-eval crops reach down to scale 0.08', () => {
    const rng = new Rng(5);
    let min = 1;
    for (let i = 0; i < 5000; i++) {
      const r = sampleCropRect(rng, 224, 224, [0.08, 1], [3 / 4, 4 / 3]);
      min = Math.min(min, (r.height * r.width) / 224 / 224);
    }
    expect(min).toBeGreaterThan(0.075);
    expect(min).toBeLessThan(0.1);
  });
});

describe('augmentation ops (cpu)', () => {
  beforeAll(async () => {
    await initBackend({ force: 'cpu', log: false });
  });

  it('a full-image crop at the same size is the identity, and a flipped one mirrors the image', () => {
    const x = sampleImages(3, 12, 3);
    const config = plain(12, 3);
    const id = augment(x, config, new Rng(1));
    expect(maxAbsDiff(id, x)).toBeLessThan(1e-5);
    const flipped = augment(x, { ...config, flipP: 1 }, new Rng(1));
    expect(maxAbsDiff(flipped, tf.reverse(x, 2))).toBeLessThan(1e-5);
  });

  it('crop boxes use half-pixel centres: a 2× downscale averages pixel pairs', () => {
    // Box for the whole 4-pixel axis resized to 2: samples at source positions 0.5 and 2.5.
    const [y1, x1, y2, x2] = cropBox({ top: 0, left: 0, height: 4, width: 4 }, 4, 4, 4, 4, 2, false);
    expect([y1, x1, y2, x2].map((v) => v * 3)).toEqual([0.5, 0.5, 2.5, 2.5]);
    // The same crop of a 4×4 source stored stretched to 8×8 lands on the same image fractions.
    const stretched = cropBox({ top: 0, left: 0, height: 4, width: 4 }, 4, 4, 8, 8, 2, true);
    expect(stretched[0] * 7).toBeCloseTo(1.5, 6);
    expect(stretched[1] * 7).toBeCloseTo(5.5, 6); // flipped: x1 > x2
  });

  it('grayscale uses the 0.299/0.587/0.114 luma and keeps 3 channels', () => {
    const x = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 0.4, 0.6], [1, 2, 2, 3]);
    const g = grayscale(x).arraySync()[0].flat();
    const expected = [0.299, 0.587, 0.114, 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6];
    g.forEach((px, i) => px.forEach((v) => expect(v).toBeCloseTo(expected[i], 6)));
  });

  it('brightness, contrast and saturation follow torchvision blend formulas per sample', () => {
    const x = sampleImages(3, 4, 3);
    const out = blendWithReference(x, Float32Array.from([1.3, 0.6, 1.4]), Uint8Array.from([BlendKind.Black, BlendKind.MeanGray, BlendKind.Gray]));
    const xs = x.arraySync();
    const os = out.arraySync();
    const luma = (p: number[]) => 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    const meanGray = xs[1].flat().reduce((s, p) => s + luma(p), 0) / 16;
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++)
        for (let c = 0; c < 3; c++) {
          expect(os[0][i][j][c]).toBeCloseTo(clamp(1.3 * xs[0][i][j][c]), 5);
          expect(os[1][i][j][c]).toBeCloseTo(clamp(0.6 * xs[1][i][j][c] + 0.4 * meanGray), 5);
          expect(os[2][i][j][c]).toBeCloseTo(clamp(1.4 * xs[2][i][j][c] - 0.4 * luma(xs[2][i][j])), 5);
        }
  });

  it('hue shift matches an HSV round trip (colorsys-style reference) and keeps S and V', () => {
    const rgbToHsv = (r: number, g: number, b: number) => {
      const max = Math.max(r, g, b);
      const min = Math.min(r, g, b);
      const d = max - min;
      let h = 0;
      if (d > 0) {
        if (max === r) h = ((g - b) / d) % 6;
        else if (max === g) h = (b - r) / d + 2;
        else h = (r - g) / d + 4;
      }
      return [(((h / 6) % 1) + 1) % 1, max === 0 ? 0 : d / max, max];
    };
    const hsvToRgb = (h: number, s: number, v: number) => {
      const i = Math.floor(h * 6) % 6;
      const f = h * 6 - Math.floor(h * 6);
      const p = v * (1 - s);
      const q = v * (1 - s * f);
      const t = v * (1 - s * (1 - f));
      return [
        [v, t, p],
        [q, v, p],
        [p, v, t],
        [p, q, v],
        [t, p, v],
        [v, p, q],
      ][i];
    };
    const x = sampleImages(4, 5, 3, 9);
    const shifts = Float32Array.from([0.1, -0.1, 0.37, 0]);
    const out = adjustHue(x, shifts).arraySync();
    const xs = x.arraySync();
    for (let b = 0; b < 4; b++)
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 5; j++) {
          const [h, s, v] = rgbToHsv(...(xs[b][i][j] as [number, number, number]));
          const expected = hsvToRgb((((h + shifts[b]) % 1) + 1) % 1, s, v);
          for (let c = 0; c < 3; c++) expect(out[b][i][j][c]).toBeCloseTo(expected[c], 4);
        }
  });

  it('blur kernels sum to 1, keep constants, and give an impulse the requested variance', () => {
    const k = gaussianKernel1d(1.5, 6);
    expect(k.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    const constant = tf.fill([2, 16, 16, 3], 0.7) as tf.Tensor4D;
    expect(maxAbsDiff(gaussianBlur(constant, Float32Array.from([0.5, 2]), 6), constant)).toBeLessThan(1e-5);
    const impulse = tf.buffer([2, 17, 17, 1]);
    impulse.set(1, 0, 8, 8, 0);
    impulse.set(1, 1, 8, 8, 0);
    const blurred = gaussianBlur(impulse.toTensor() as tf.Tensor4D, Float32Array.from([0.8, 1.6]), 6).arraySync();
    [0.8, 1.6].forEach((sigma, b) => {
      let variance = 0;
      let total = 0;
      for (let y = 0; y < 17; y++)
        for (let x = 0; x < 17; x++) {
          total += blurred[b][y][x][0];
          variance += blurred[b][y][x][0] * (x - 8) ** 2;
        }
      expect(total).toBeCloseTo(1, 4);
      expect(Math.sqrt(variance)).toBeCloseTo(sigma, 1);
    });
  });

  it('two views: shapes, normalised range, seeded reproducibility, different views', () => {
    const x = sampleImages(6, 20, 3);
    const config = moco2Augment(16, 3);
    const [a1, a2] = twoViews(x, config, new Rng(42));
    const [b1, b2] = twoViews(x, config, new Rng(42));
    const [c1] = twoViews(x, config, new Rng(43));
    expect(a1.shape).toEqual([6, 16, 16, 3]);
    expect(a2.shape).toEqual([6, 16, 16, 3]);
    expect(maxAbsDiff(a1, b1)).toBe(0);
    expect(maxAbsDiff(a2, b2)).toBe(0);
    expect(maxAbsDiff(a1, c1)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(a1, a2)).toBeGreaterThan(0.1);
    // Normalised values stay within what pixels in [0, 1] can give.
    const v = a1.arraySync().flat(3);
    v.forEach((value, i) => {
      const c = i % 3;
      expect(value).toBeGreaterThanOrEqual(-config.mean[c] / config.std[c] - 1e-4);
      expect(value).toBeLessThanOrEqual((1 - config.mean[c]) / config.std[c] + 1e-4);
    });
  });

  it('flip, jitter, grayscale and blur fire at their configured rates', () => {
    const config = moco2Augment(224, 3);
    const n = 20000;
    const p = sampleViewParams(config, new Rng(7), new Int32Array(n), [224], [224]);
    const count = (a: ArrayLike<number>, test: (v: number) => boolean) => Array.from(a).filter(test).length;
    expectRate(count(p.flip, (v) => v === 1), n, 0.5);
    expectRate(count(p.jitter, (v) => v === 1), n, 0.8);
    expectRate(count(p.grayscale, (v) => v === 1), n, 0.2);
    expectRate(count(p.blurSigma, (v) => v > 0), n, 0.5);
    const sigmas = Array.from(p.blurSigma).filter((v) => v > 0);
    expect(Math.min(...sigmas)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...sigmas)).toBeLessThan(2.0);
    const jittered = Array.from(p.jitter).flatMap((j, i) => (j ? [i] : []));
    for (const i of jittered.slice(0, 2000)) {
      for (const f of [p.brightness[i], p.contrast[i], p.saturation[i]]) expect(f >= 0.6 && f <= 1.4).toBe(true);
      expect(Math.abs(p.hue[i])).toBeLessThanOrEqual(0.1);
      expect(Array.from(p.order.subarray(4 * i, 4 * i + 4)).sort()).toEqual([0, 1, 2, 3]);
    }
    // Each op comes first in about a quarter of the jittered views (random order).
    for (let op = 0; op < 4; op++) expectRate(count(jittered, (i) => p.order[4 * i] === op), jittered.length, 0.25);
  });

  it('grayscale data: the preset turns off saturation, hue and grayscale, and a config that does not is rejected', () => {
    const config = moco2Augment(28, 1);
    expect(config.colorJitter).toMatchObject({ saturation: 0, hue: 0, brightness: 0.4, contrast: 0.4 });
    expect(config.grayscaleP).toBe(0);
    const x = sampleImages(4, 28, 1);
    const [v1] = twoViews(x, config, new Rng(1));
    expect(v1.shape).toEqual([4, 28, 28, 1]);
    expect(() => twoViews(x, { ...config, grayscaleP: 0.2 }, new Rng(1))).toThrow(/no meaning on 1-channel images/);
    expect(() => twoViews(x, moco2Augment(28, 3), new Rng(1))).toThrow(/configured for 3 channels, batch has 1/);
  });

  it('evalTransform resizes the shorter side by 256/224 and centre-crops', () => {
    // A 32×32 ramp: resize to 32·256/224 then centre-crop 32 ⇔ the central 28-pixel region scaled to 32.
    const size = 32;
    const ramp = tf.tensor4d(Float32Array.from({ length: size * size }, (_, i) => (i % size) / (size - 1)), [1, size, size, 1]);
    const out = evalTransform(ramp, { imageSize: size, mean: [0], std: [1] }).arraySync()[0][0].map((p) => p[0]);
    const side = size * (224 / 256);
    const left = (size - side) / 2;
    out.forEach((v, k) => expect(v).toBeCloseTo((left + ((k + 0.5) * side) / size - 0.5) / (size - 1), 4));
    const lin = linearTrainAugment(24, 1);
    expect(lin.crop.scale).toEqual([0.08, 1]);
    expect(augment(ramp, lin, new Rng(3)).shape).toEqual([1, 24, 24, 1]);
  });

  it('applyViews leaks no tensors', () => {
    const x = sampleImages(4, 16, 3);
    const before = tf.memory().numTensors;
    const params = sampleViewParams(moco2Augment(16, 3), new Rng(2), Int32Array.from([0, 1, 2, 3, 0, 1]), new Int32Array(4).fill(16), new Int32Array(4).fill(16));
    const views = applyViews(x, params, moco2Augment(16, 3));
    expect(tf.memory().numTensors).toBe(before + 1);
    views.dispose();
  });
});

describe('augmentation on the wasm backend', () => {
  it('runs every op there and agrees with cpu', async () => {
    await initBackend({ force: 'cpu', log: false });
    const make = () => sampleImages(5, 20, 3, 4);
    const config = moco2Augment(16, 3);
    // This seed exercises every op on some views and skips it on others (crop, flip, jitter, hue, gray, blur).
    const params = sampleViewParams(config, new Rng(9), Int32Array.from({ length: 10 }, (_, i) => i % 5), new Int32Array(5).fill(20), new Int32Array(5).fill(20));
    for (const flags of [params.flip, params.jitter, params.grayscale, params.blurSigma.map((s) => (s > 0 ? 1 : 0))]) {
      const on = Array.from(flags).filter((f) => f === 1).length;
      expect(on).toBeGreaterThan(0);
      expect(on).toBeLessThan(10);
    }
    expect(params.hue.some((h) => h !== 0)).toBe(true);
    const [c1, c2] = twoViews(make(), config, new Rng(9));
    const cEval = evalTransform(make(), { imageSize: 16, mean: [0, 0, 0], std: [1, 1, 1] });
    const cpu = [await c1.data(), await c2.data(), await cEval.data()];
    await initBackend({ force: 'wasm', log: false });
    expect(tf.getBackend()).toBe('wasm');
    const [w1, w2] = twoViews(make(), config, new Rng(9));
    const wEval = evalTransform(make(), { imageSize: 16, mean: [0, 0, 0], std: [1, 1, 1] });
    const wasm = [await w1.data(), await w2.data(), await wEval.data()];
    wasm.forEach((values, t) => {
      let max = 0;
      values.forEach((v, i) => (max = Math.max(max, Math.abs(v - cpu[t][i]))));
      expect(max).toBeLessThan(1e-3);
    });
    await initBackend({ force: 'cpu', log: false });
  });
});
