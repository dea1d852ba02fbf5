// The paper's two-view augmentation (spec §7.3, MoCo v2) and the linear-evaluation transforms (§8), as tensor
// ops on whole batches. All randomness is drawn on the JS side from a seeded Rng (sampleViewParams), then
// applied by applyViews, so the same seed gives the same views on every backend.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@unigrad/core';
import type { Batch } from './batches';
import { blurRadius, gaussianBlur } from './blur';
import { BlendKind, adjustHue, blendWithReference, grayscale } from './color';
import { FASHION_MNIST_NORM, IMAGENET_NORM, type Normalization } from './dataset';

export interface ColorJitterConfig {
  /** Probability the jitter is applied at all (the four ops then run in a random order, as torchvision). */
  p: number;
  /** Factors are uniform in [max(0, 1 − s), 1 + s]; 0 turns the op off. */
  brightness: number;
  contrast: number;
  /** Must be 0 on 1-channel data (no colour to saturate). */
  saturation: number;
  /** Hue shift uniform in [−hue, hue] (fraction of a turn, ≤ 0.5). Must be 0 on 1-channel data. */
  hue: number;
}

/**
 * One view's augmentation, applied in this order: RandomResizedCrop (+ horizontal flip, folded into the crop —
 * exact, since every later op commutes with a mirror), ColorJitter, RandomGrayscale, GaussianBlur, Normalize.
 *
 * On grayscale (1-channel) data, saturation, hue and RandomGrayscale have no meaning: they must be 0 / null,
 * which moco2Augment sets for channels = 1 (a non-zero value is rejected rather than silently ignored).
 */
export interface AugmentConfig {
  /** Output side: views are imageSize × imageSize. */
  imageSize: number;
  channels: 1 | 3;
  /** RandomResizedCrop: area fraction and aspect-ratio ranges; 10 tries, then torchvision's centre-crop fallback. */
  crop: { scale: [number, number]; ratio: [number, number] };
  colorJitter: ColorJitterConfig | null;
  /** RandomGrayscale probability (3-channel output). Must be 0 on 1-channel data. */
  grayscaleP: number;
  /**
   * Gaussian blur with probability p and σ uniform in `sigma` (pixels of the output view). The kernel radius is
   * ceil(3·σmax), capped at imageSize − 1.
   */
  blur: { p: number; sigma: [number, number] } | null;
  /** RandomHorizontalFlip probability. */
  flipP: number;
  /** Normalize constants per channel. */
  mean: number[];
  std: number[];
}

/**
 * The paper's pretraining augmentation (spec §7.3), used for both views. `norm` defaults to ImageNet's constants
 * for 3 channels and Fashion-MNIST's for 1; pass the dataset (it carries mean/std) to be explicit.
 * For channels = 1, saturation, hue and RandomGrayscale are off (they have no meaning on grayscale images).
 * σ ∈ [0.1, 2.0] is in output pixels as in the paper; at 28 px that blur is relatively 8× stronger than at 224 px.
 */
export function moco2Augment(imageSize: number, channels: 1 | 3, norm: Normalization = defaultNorm(channels)): AugmentConfig {
  const color = channels === 3;
  return {
    imageSize,
    channels,
    crop: { scale: [0.2, 1.0], ratio: [3 / 4, 4 / 3] },
    colorJitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: color ? 0.4 : 0, hue: color ? 0.1 : 0 },
    grayscaleP: color ? 0.2 : 0,
    blur: { p: 0.5, sigma: [0.1, 2.0] },
    flipP: 0.5,
    mean: [...norm.mean],
    std: [...norm.std],
  };
}

/** Linear-evaluation training transform (spec §8): RandomResizedCrop scale (0.08, 1), horizontal flip, Normalize. */
export function linearTrainAugment(imageSize: number, channels: 1 | 3, norm: Normalization = defaultNorm(channels)): AugmentConfig {
  return {
    imageSize,
    channels,
    crop: { scale: [0.08, 1.0], ratio: [3 / 4, 4 / 3] },
    colorJitter: null,
    grayscaleP: 0,
    blur: null,
    flipP: 0.5,
    mean: [...norm.mean],
    std: [...norm.std],
  };
}

function defaultNorm(channels: 1 | 3): Normalization {
  return channels === 3 ? IMAGENET_NORM : FASHION_MNIST_NORM;
}

/** Rejects configs that would silently do something else than asked. */
export function validateAugmentConfig(config: AugmentConfig): void {
  const fail = (why: string) => {
    throw new Error(`invalid AugmentConfig: ${why}`);
  };
  const { channels, crop, colorJitter, blur } = config;
  if (channels !== 1 && channels !== 3) fail(`channels must be 1 or 3, got ${channels}`);
  if (!Number.isInteger(config.imageSize) || config.imageSize < 2) fail(`imageSize must be an integer >= 2, got ${config.imageSize}`);
  if (!(crop.scale[0] > 0 && crop.scale[0] <= crop.scale[1] && crop.scale[1] <= 1)) fail(`crop.scale must satisfy 0 < lo <= hi <= 1, got [${crop.scale}]`);
  if (!(crop.ratio[0] > 0 && crop.ratio[0] <= crop.ratio[1])) fail(`crop.ratio must satisfy 0 < lo <= hi, got [${crop.ratio}]`);
  for (const [name, p] of [
    ['flipP', config.flipP],
    ['grayscaleP', config.grayscaleP],
    ['colorJitter.p', colorJitter?.p ?? 0],
    ['blur.p', blur?.p ?? 0],
  ] as const) {
    if (!(p >= 0 && p <= 1)) fail(`${name} must be a probability, got ${p}`);
  }
  if (colorJitter) {
    for (const key of ['brightness', 'contrast', 'saturation'] as const) if (!(colorJitter[key] >= 0)) fail(`colorJitter.${key} must be >= 0`);
    if (!(colorJitter.hue >= 0 && colorJitter.hue <= 0.5)) fail(`colorJitter.hue must be in [0, 0.5], got ${colorJitter.hue}`);
  }
  if (channels === 1 && (config.grayscaleP > 0 || (colorJitter && (colorJitter.saturation > 0 || colorJitter.hue > 0)))) {
    fail('saturation, hue and grayscaleP have no meaning on 1-channel images; set them to 0 (moco2Augment(size, 1) does)');
  }
  if (blur && !(blur.sigma[0] > 0 && blur.sigma[0] <= blur.sigma[1])) fail(`blur.sigma must satisfy 0 < lo <= hi, got [${blur.sigma}]`);
  if (config.mean.length !== channels || config.std.length !== channels) fail(`mean/std need ${channels} values each`);
  if (config.std.some((s) => !(s > 0))) fail('std values must be > 0');
}

/** A crop in source pixels (top-left corner and size). */
export interface CropRect {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * torchvision RandomResizedCrop.get_params: up to 10 tries of area ~ U(scale)·H·W and log-uniform aspect ratio,
 * accepted when it fits; otherwise the centre crop clamped to the ratio range.
 */
export function sampleCropRect(rng: Rng, height: number, width: number, scale: [number, number], ratio: [number, number]): CropRect {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * cropAndResize box [y1, x1, y2, x2] (fractions of the tensor's H−1, W−1) that resizes `rect` of a
 * sourceH × sourceW image, stored as a tensorH × tensorW tensor, to outSize × outSize with half-pixel centres
 * (torchvision/PIL bilinear, no antialiasing). Endpoints are clamped to the image (cropAndResize would fill
 * outside it with zeros); a flipped box (x1 > x2) mirrors the crop.
 */
export function cropBox(rect: CropRect, sourceH: number, sourceW: number, tensorH: number, tensorW: number, outSize: number, flip: boolean): [number, number, number, number] {
  const axis = (start: number, length: number, source: number, tensorSide: number): [number, number] => {
    const toCoord = (sourcePos: number) => {
      const p = (sourcePos / source) * tensorSide - 0.5;
      return Math.min(1, Math.max(0, p / (tensorSide - 1)));
    };
    const half = (0.5 * length) / outSize;
    return [toCoord(start + half), toCoord(start + length - half)];
  };
  const [y1, y2] = axis(rect.top, rect.height, sourceH, tensorH);
  const [x1, x2] = axis(rect.left, rect.width, sourceW, tensorW);
  return flip ? [y1, x2, y2, x1] : [y1, x1, y2, x2];
}

/** Colour-jitter op ids, in torchvision's order: brightness, contrast, saturation, hue. */
export const JITTER_OPS = ['brightness', 'contrast', 'saturation', 'hue'] as const;

/** Every random choice for a set of views (one entry per view), drawn before any tensor work. */
export interface ViewParams {
  /** Which image of the batch each view is cut from. */
  imageIndex: Int32Array;
  crops: CropRect[];
  /** Source size each crop refers to. */
  sourceHeights: Int32Array;
  sourceWidths: Int32Array;
  flip: Uint8Array;
  /** 1 where colour jitter applies; then order[4v..4v+3] is the op order (indices into JITTER_OPS). */
  jitter: Uint8Array;
  order: Int32Array;
  /** Jitter factors per view (1 / 0 for hue = unchanged). */
  brightness: Float32Array;
  contrast: Float32Array;
  saturation: Float32Array;
  hue: Float32Array;
  grayscale: Uint8Array;
  /** Blur σ per view; 0 = not blurred. */
  blurSigma: Float32Array;
}

/**
 * Draws the parameters of `views` views of images imageIndex[v] (sizes from sourceHeights/Widths, indexed by
 * image). Draw order per view: crop, flip, jitter (apply, order, four factors), grayscale, blur (apply, σ).
 */
export function sampleViewParams(config: AugmentConfig, rng: Rng, imageIndex: Int32Array, sourceHeights: ArrayLike<number>, sourceWidths: ArrayLike<number>): ViewParams {
  validateAugmentConfig(config);
  const v = imageIndex.length;
  const params: ViewParams = {
    imageIndex,
    crops: [],
    sourceHeights: new Int32Array(v),
    sourceWidths: new Int32Array(v),
    flip: new Uint8Array(v),
    jitter: new Uint8Array(v),
    order: new Int32Array(4 * v),
    brightness: new Float32Array(v).fill(1),
    contrast: new Float32Array(v).fill(1),
    saturation: new Float32Array(v).fill(1),
    hue: new Float32Array(v),
    grayscale: new Uint8Array(v),
    blurSigma: new Float32Array(v),
  };
  const factor = (s: number) => (s > 0 ? rng.uniform(Math.max(0, 1 - s), 1 + s) : 1);
  for (let i = 0; i < v; i++) {
    const h = sourceHeights[imageIndex[i]];
    const w = sourceWidths[imageIndex[i]];
    params.sourceHeights[i] = h;
    params.sourceWidths[i] = w;
    params.crops.push(sampleCropRect(rng, h, w, config.crop.scale, config.crop.ratio));
    params.flip[i] = rng.bernoulli(config.flipP) ? 1 : 0;
    const cj = config.colorJitter;
    if (cj && rng.bernoulli(cj.p)) {
      params.jitter[i] = 1;
      params.order.set(rng.permutation(4), 4 * i);
      params.brightness[i] = factor(cj.brightness);
      params.contrast[i] = factor(cj.contrast);
      params.saturation[i] = factor(cj.saturation);
      params.hue[i] = cj.hue > 0 ? rng.uniform(-cj.hue, cj.hue) : 0;
    }
    params.grayscale[i] = config.grayscaleP > 0 && rng.bernoulli(config.grayscaleP) ? 1 : 0;
    if (config.blur && rng.bernoulli(config.blur.p)) params.blurSigma[i] = rng.uniform(config.blur.sigma[0], config.blur.sigma[1]);
  }
  return params;
}

/** Applies fn to the rows listed in `rows` and leaves the others as they are (gather, apply, scatter back). */
function applyToRows(x: tf.Tensor4D, rows: number[], fn: (part: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  const n = x.shape[0];
  if (rows.length === 0) return x;
  if (rows.length === n) return fn(x);
  const chosen = new Set(rows);
  const rest: number[] = [];
  for (let i = 0; i < n; i++) if (!chosen.has(i)) rest.push(i);
  const order = [...rows, ...rest];
  const inverse = new Int32Array(n);
  order.forEach((row, position) => (inverse[row] = position));
  const merged = tf.concat([fn(tf.gather(x, tf.tensor1d(rows, 'int32')) as tf.Tensor4D), tf.gather(x, tf.tensor1d(rest, 'int32'))], 0);
  return tf.gather(merged, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D;
}

/**
 * Produces the views described by `params` from x (NHWC float32 in [0, 1]); returns [views, imageSize,
 * imageSize, C], normalised. The caller owns the result.
 */
export function applyViews(x: tf.Tensor4D, params: ViewParams, config: AugmentConfig): tf.Tensor4D {
  validateAugmentConfig(config);
  const [, tensorH, tensorW, channels] = x.shape;
  if (channels !== config.channels) throw new Error(`augmentation configured for ${config.channels} channels, batch has ${channels}`);
  if (tensorH < 2 || tensorW < 2) throw new Error(`images must be at least 2x2, got ${tensorH}x${tensorW}`);
  const v = params.imageIndex.length;
  const size = config.imageSize;
  const boxes = new Float32Array(4 * v);
  for (let i = 0; i < v; i++) {
    boxes.set(cropBox(params.crops[i], params.sourceHeights[i], params.sourceWidths[i], tensorH, tensorW, size, params.flip[i] === 1), 4 * i);
  }
  return tf.tidy(() => {
    let out = tf.image.cropAndResize(x, tf.tensor2d(boxes, [v, 4]), tf.tensor1d(params.imageIndex, 'int32'), [size, size], 'bilinear') as tf.Tensor4D;

    if (params.jitter.some((j) => j === 1)) {
      // Stage t applies each view's t-th op: the three blends in one pass, hue on the views that have it.
      for (let t = 0; t < 4; t++) {
        const factors = new Float32Array(v).fill(1);
        const kinds = new Uint8Array(v);
        const hueRows: number[] = [];
        for (let i = 0; i < v; i++) {
          if (params.jitter[i] !== 1) continue;
          const op = JITTER_OPS[params.order[4 * i + t]];
          if (op === 'brightness') [factors[i], kinds[i]] = [params.brightness[i], BlendKind.Black];
          else if (op === 'contrast') [factors[i], kinds[i]] = [params.contrast[i], BlendKind.MeanGray];
          else if (op === 'saturation') [factors[i], kinds[i]] = [params.saturation[i], BlendKind.Gray];
          else if (params.hue[i] !== 0) hueRows.push(i);
        }
        if (factors.some((f) => f !== 1)) out = blendWithReference(out, factors, kinds);
        if (hueRows.length > 0) {
          const shifts = Float32Array.from(hueRows, (i) => params.hue[i]);
          out = applyToRows(out, hueRows, (part) => adjustHue(part, shifts));
        }
      }
    }

    const grayRows = rowsWhere(params.grayscale, (g) => g === 1);
    out = applyToRows(out, grayRows, grayscale);

    const blurRows = rowsWhere(params.blurSigma, (s) => s > 0);
    if (blurRows.length > 0 && config.blur) {
      const radius = blurRadius(config.blur.sigma[1], size);
      const sigmas = Float32Array.from(blurRows, (i) => params.blurSigma[i]);
      out = applyToRows(out, blurRows, (part) => gaussianBlur(part, sigmas, radius));
    }

    return normalize(out, config);
  });
}

function rowsWhere<T extends ArrayLike<number>>(values: T, test: (value: number) => boolean): number[] {
  const rows: number[] = [];
  for (let i = 0; i < values.length; i++) if (test(values[i])) rows.push(i);
  return rows;
}

/** (x − mean) / std per channel. */
export function normalize(x: tf.Tensor4D, norm: Normalization): tf.Tensor4D {
  const c = x.shape[3];
  if (norm.mean.length !== c || norm.std.length !== c) throw new Error(`normalize: ${norm.mean.length} means / ${norm.std.length} stds for ${c} channels`);
  return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(norm.mean)), tf.tensor1d(norm.std)) as tf.Tensor4D);
}

type BatchLike = Batch | tf.Tensor4D;

function unpack(batch: BatchLike): { x: tf.Tensor4D; sourceHeights: ArrayLike<number>; sourceWidths: ArrayLike<number> } {
  if (batch instanceof tf.Tensor) {
    const [n, h, w] = batch.shape;
    return { x: batch, sourceHeights: new Int32Array(n).fill(h), sourceWidths: new Int32Array(n).fill(w) };
  }
  return batch;
}

/** One augmented view per image (e.g. the linear-eval training transform). The caller owns the result. */
export function augment(batch: BatchLike, config: AugmentConfig, rng: Rng): tf.Tensor4D {
  const { x, sourceHeights, sourceWidths } = unpack(batch);
  const n = x.shape[0];
  const params = sampleViewParams(config, rng, Int32Array.from({ length: n }, (_, i) => i), sourceHeights, sourceWidths);
  return applyViews(x, params, config);
}

/**
 * Two independently augmented views of every image (spec §7.3: the same pipeline for both). Both are made in one
 * pass of 2N crops; view 1 uses the first N parameter draws, view 2 the next N. The caller owns both tensors.
 */
export function twoViews(batch: BatchLike, config: AugmentConfig, rng: Rng): [tf.Tensor4D, tf.Tensor4D] {
  const { x, sourceHeights, sourceWidths } = unpack(batch);
  const n = x.shape[0];
  const params = sampleViewParams(config, rng, Int32Array.from({ length: 2 * n }, (_, i) => i % n), sourceHeights, sourceWidths);
  const both = applyViews(x, params, config);
  const [view1, view2] = tf.split(both, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
  both.dispose();
  return [view1, view2];
}

export interface EvalTransformConfig extends Normalization {
  imageSize: number;
  /** Resize the shorter side to imageSize × resizeRatio before the centre crop; spec §7.3/§8: 256/224. */
  resizeRatio?: number;
}

/**
 * Evaluation transform (spec §8): Resize(shorter side → imageSize·256/224), CenterCrop(imageSize), Normalize,
 * as one crop-and-resize of the equivalent centred region. The caller owns the result.
 */
export function evalTransform(batch: BatchLike, config: EvalTransformConfig): tf.Tensor4D {
  const { x, sourceHeights, sourceWidths } = unpack(batch);
  const [n, tensorH, tensorW] = x.shape;
  const ratio = config.resizeRatio ?? 256 / 224;
  if (!(ratio >= 1)) throw new Error(`resizeRatio must be >= 1, got ${ratio}`);
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const h = sourceHeights[i];
    const w = sourceWidths[i];
    const side = Math.min(h, w) / ratio;
    const rect = { top: (h - side) / 2, left: (w - side) / 2, height: side, width: side };
    boxes.set(cropBox(rect, h, w, tensorH, tensorW, config.imageSize, false), 4 * i);
  }
  return tf.tidy(() => {
    const boxInd = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i), 'int32');
    const cropped = tf.image.cropAndResize(x, tf.tensor2d(boxes, [n, 4]), boxInd, [config.imageSize, config.imageSize], 'bilinear');
    return normalize(cropped as tf.Tensor4D, config);
  });
}
