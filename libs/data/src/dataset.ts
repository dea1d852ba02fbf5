// The one shape every dataset has, whether its pixels sit in memory (Fashion-MNIST, CIFAR-10) or on disk
// (ImageFolder): fixed-size uint8 HWC images read by index, plus the constants to normalise them.

/** Per-channel normalisation constants of a dataset, for pixels in [0, 1]. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/**
 * Fashion-MNIST train set, pixels / 255: mean 0.28604060 and (population) std 0.35302424, computed over all
 * 60,000 × 784 train pixels. `fashion-mnist.test.ts` recomputes both from the installed files.
 */
export const FASHION_MNIST_NORM: Normalization = { mean: [0.2860406], std: [0.35302424] };

/** CIFAR-10 train set per-channel mean and per-pixel std (the commonly copied 0.2023/0.1994/0.2010 are not). */
export const CIFAR10_NORM: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** ImageNet constants used by torchvision and by the paper's Normalize (spec §7.3). */
export const IMAGENET_NORM: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Pixels and labels of some images, as read from a dataset (HWC, row-major, uint8). */
export interface RawBatch {
  /** count × height × width × channels bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
  /**
   * Size of each image before it was resized to the dataset's fixed height × width (equal to them for
   * in-memory datasets). Crops are sampled in these pixels, so aspect ratios match the original image.
   */
  sourceHeights: Int32Array;
  sourceWidths: Int32Array;
}

export interface Dataset extends Normalization {
  readonly name: string;
  /** Number of images. */
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  /** Class names; label k means classes[k]. */
  readonly classes: string[];
  /** Label of every image (cheap for all datasets: ImageFolder knows them from the folder names). */
  readonly labels: Int32Array;
  /** Reads the given images (in the given order). */
  readBatch(indices: ArrayLike<number>): Promise<RawBatch>;
}

/** A dataset held in memory as one uint8 array (Fashion-MNIST, CIFAR-10, or anything a caller builds). */
export class ArrayDataset implements Dataset {
  readonly n: number;
  readonly mean: number[];
  readonly std: number[];

  constructor(
    readonly name: string,
    /** n × height × width × channels bytes, HWC. */
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly height: number,
    readonly width: number,
    readonly channels: 1 | 3,
    readonly classes: string[],
    norm: Normalization,
  ) {
    this.n = labels.length;
    const expected = this.n * height * width * channels;
    if (images.length !== expected) {
      throw new Error(`${name}: ${images.length} pixel bytes for ${this.n} labels of ${height}x${width}x${channels} (expected ${expected})`);
    }
    if (norm.mean.length !== channels || norm.std.length !== channels) {
      throw new Error(`${name}: normalisation has ${norm.mean.length} means / ${norm.std.length} stds for ${channels} channels`);
    }
    this.mean = norm.mean;
    this.std = norm.std;
  }

  readBatch(indices: ArrayLike<number>): Promise<RawBatch> {
    return Promise.resolve(this.readBatchSync(indices));
  }

  readBatchSync(indices: ArrayLike<number>): RawBatch {
    const size = this.height * this.width * this.channels;
    const count = indices.length;
    const pixels = new Uint8Array(count * size);
    const labels = new Int32Array(count);
    for (let b = 0; b < count; b++) {
      const i = indices[b];
      if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new Error(`${this.name}: index ${i} out of range [0, ${this.n})`);
      pixels.set(this.images.subarray(i * size, (i + 1) * size), b * size);
      labels[b] = this.labels[i];
    }
    return {
      pixels,
      labels,
      sourceHeights: new Int32Array(count).fill(this.height),
      sourceWidths: new Int32Array(count).fill(this.width),
    };
  }
}

/** Mean and population std per channel of uint8 HWC images, as fractions of 255 (float64 accumulation). */
export function channelStats(images: Uint8Array, channels: number): Normalization {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    const c = i % channels;
    sum[c] += v;
    sumSq[c] += v * v;
  }
  const count = images.length / channels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = sum[c] / count;
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(0, sumSq[c] / count - m * m)) / 255);
  }
  return { mean, std };
}
