// Colour operations on NHWC float32 batches in [0, 1], with a per-sample factor each, following torchvision's
// tensor functional ops (adjust_brightness/contrast/saturation/hue, rgb_to_grayscale).
import * as tf from '@tensorflow/tfjs';

/** ITU-R 601-2 luma, as PIL's convert('L') and torchvision's rgb_to_grayscale. */
export const LUMA_WEIGHTS = [0.299, 0.587, 0.114];

/** Grayscale of an NHWC batch, keeping one channel ([N, H, W, 1]); a 1-channel batch is returned as is. */
export function toGray(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] === 1) return x;
  return tf.sum(tf.mul(x, tf.tensor1d(LUMA_WEIGHTS)), 3, true) as tf.Tensor4D;
}

/** Grayscale broadcast back to the batch's channels (RandomGrayscale keeps 3 channels). */
export function grayscale(x: tf.Tensor4D): tf.Tensor4D {
  const gray = toGray(x);
  return (x.shape[3] === 1 ? gray : tf.tile(gray, [1, 1, 1, x.shape[3]])) as tf.Tensor4D;
}

/**
 * Which reference a sample blends towards in blendWithReference: Black (brightness), MeanGray (contrast: the mean
 * of the image's grayscale), Gray (saturation: the pixel's grayscale).
 */
export const BlendKind = { Black: 0, MeanGray: 1, Gray: 2 } as const;

/**
 * Brightness, contrast and saturation are all clamp(f·x + (1 − f)·ref) with a different reference; this applies
 * one of them per sample (factor 1 = unchanged), so one pass serves a batch where samples use different ops.
 */
export function blendWithReference(x: tf.Tensor4D, factors: Float32Array, kinds: Uint8Array): tf.Tensor4D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const f = tf.tensor4d(factors, [n, 1, 1, 1]);
    let ref: tf.Tensor = tf.zeros([n, 1, 1, 1]);
    const usesMean = kinds.some((k) => k === BlendKind.MeanGray);
    const usesGray = kinds.some((k) => k === BlendKind.Gray);
    if (usesMean || usesGray) {
      const gray = toGray(x);
      if (usesMean) {
        const mask = tf.tensor4d(Float32Array.from(kinds, (k) => (k === BlendKind.MeanGray ? 1 : 0)), [n, 1, 1, 1]);
        ref = tf.add(ref, tf.mul(mask, tf.mean(gray, [1, 2, 3], true)));
      }
      if (usesGray) {
        const mask = tf.tensor4d(Float32Array.from(kinds, (k) => (k === BlendKind.Gray ? 1 : 0)), [n, 1, 1, 1]);
        ref = tf.add(ref, tf.mul(mask, gray));
      }
    }
    return tf.clipByValue(tf.add(tf.mul(f, x), tf.mul(tf.sub(1, f), ref)), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Shifts hue by `shifts[i]` (fraction of a turn, torchvision's hue_factor) in HSV space, keeping S and V:
 * RGB → H as in torchvision's _rgb2hsv, then back with the closed form c = V − (V − min)·clamp(min(k, 4 − k), 0, 1),
 * k = (n + 6H) mod 6 with n = 5, 3, 1 for R, G, B. Needs 3 channels.
 */
export function adjustHue(x: tf.Tensor4D, shifts: Float32Array): tf.Tensor4D {
  if (x.shape[3] !== 3) throw new Error(`adjustHue needs 3 channels, got ${x.shape[3]}`);
  return tf.tidy(() => {
    const n = x.shape[0];
    const [r, g, b] = tf.split(x, 3, 3);
    const maxc = tf.maximum(tf.maximum(r, g), b);
    const minc = tf.minimum(tf.minimum(r, g), b);
    const delta = tf.sub(maxc, minc);
    const divisor = tf.where(tf.equal(delta, 0), tf.onesLike(delta), delta);
    const isR = tf.equal(maxc, r);
    const isG = tf.logicalAnd(tf.equal(maxc, g), tf.logicalNot(isR));
    // Hue in sixths of a turn, in (-1, 5): (g − b)/Δ when R is largest, 2 + (b − r)/Δ for G, 4 + (r − g)/Δ for B
    // (torchvision's bc − gc, 2 + rc − bc, 4 + gc − rc, simplified).
    const numerator = tf.where(isR, tf.sub(g, b), tf.where(isG, tf.sub(b, r), tf.sub(r, g)));
    const sector = tf.where(isR, tf.zerosLike(delta), tf.where(isG, tf.fill(delta.shape, 2), tf.fill(delta.shape, 4)));
    const sixths = tf.add(sector, tf.div(numerator, divisor));
    const shift = tf.tensor4d(shifts, [n, 1, 1, 1]);
    // +12 keeps the argument of mod positive (sixths > -1, |shift| <= 0.5).
    const h6 = tf.add(tf.add(sixths, tf.mul(shift, 6)), 12);
    const channel = (offset: number) => {
      const k = tf.mod(tf.add(h6, offset), 6);
      const weight = tf.clipByValue(tf.minimum(k, tf.sub(4, k)), 0, 1);
      return tf.sub(maxc, tf.mul(delta, weight));
    };
    return tf.concat([channel(5), channel(3), channel(1)], 3) as tf.Tensor4D;
  });
}
