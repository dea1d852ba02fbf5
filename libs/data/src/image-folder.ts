// ImageFolder: the torchvision/ImageNet layout `<split>/<class>/<image>`, decoded from disk batch by batch with
// sharp (libvips), so memory holds only the batches in flight, never the dataset.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { IMAGENET_NORM, type Dataset, type Normalization, type RawBatch } from './dataset';

/** Extensions sharp decodes, compared case-insensitively (ImageNet uses `.JPEG`). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'];

export interface ImageFolderOptions {
  /**
   * Every image is resized (stretched, aspect ratio not kept) to size × size on decode. Crops are still sampled in
   * the original pixel grid (RawBatch.sourceHeights/Widths) and expressed as fractions of the image, so crop
   * geometry matches torchvision; the stretch only costs some resolution along the longer side. Default 256.
   */
  size?: number;
  /** Class list to use (e.g. the train folder's for `val/`); default: the sorted sub-folder names. */
  classes?: string[];
  /** Normalisation constants; default ImageNet's. */
  norm?: Normalization;
  /** How many images to decode at once (sharp runs them on libuv's threads). Default 16. */
  concurrency?: number;
}

export class ImageFolder implements Dataset {
  readonly name: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels = 3 as const;
  readonly classes: string[];
  readonly labels: Int32Array;
  readonly mean: number[];
  readonly std: number[];
  /** Absolute path of every image, in class then file-name order. */
  readonly files: string[];
  private readonly concurrency: number;

  constructor(
    readonly root: string,
    options: ImageFolderOptions = {},
  ) {
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`ImageFolder: directory ${root} does not exist`);
    const size = options.size ?? 256;
    if (!Number.isInteger(size) || size < 2) throw new Error(`ImageFolder: size must be an integer >= 2, got ${size}`);
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    this.classes = options.classes ? [...options.classes] : folders;
    if (this.classes.length === 0) throw new Error(`ImageFolder: ${root} has no class sub-folders (expected ${root}/<class>/<image>)`);
    const files: string[] = [];
    const labels: number[] = [];
    this.classes.forEach((cls, label) => {
      const dir = join(root, cls);
      if (!existsSync(dir)) throw new Error(`ImageFolder: class folder ${dir} is missing`);
      const images = readdirSync(dir)
        .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
        .sort();
      if (images.length === 0) {
        throw new Error(`ImageFolder: class folder ${dir} has no images (looked for ${IMAGE_EXTENSIONS.join(' ')}, any case)`);
      }
      for (const f of images) {
        files.push(join(dir, f));
        labels.push(label);
      }
    });
    for (const extra of folders.filter((f) => !this.classes.includes(f))) {
      throw new Error(`ImageFolder: ${join(root, extra)} is not one of the ${this.classes.length} given classes`);
    }
    this.files = files;
    this.labels = Int32Array.from(labels);
    this.n = files.length;
    this.height = size;
    this.width = size;
    this.name = `image-folder:${root}`;
    const norm = options.norm ?? IMAGENET_NORM;
    this.mean = norm.mean;
    this.std = norm.std;
    this.concurrency = options.concurrency ?? 16;
    // Each file is read once per epoch; libvips' operation cache would only hold memory.
    sharp.cache(false);
  }

  async readBatch(indices: ArrayLike<number>): Promise<RawBatch> {
    const count = indices.length;
    const size = this.height * this.width * 3;
    const pixels = new Uint8Array(count * size);
    const labels = new Int32Array(count);
    const sourceHeights = new Int32Array(count);
    const sourceWidths = new Int32Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const b = next++;
        const i = indices[b];
        if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new Error(`${this.name}: index ${i} out of range [0, ${this.n})`);
        const decoded = await decodeImage(this.files[i], this.height, this.width);
        pixels.set(decoded.pixels, b * size);
        labels[b] = this.labels[i];
        sourceHeights[b] = decoded.sourceHeight;
        sourceWidths[b] = decoded.sourceWidth;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, worker));
    return { pixels, labels, sourceHeights, sourceWidths };
  }
}

/** Decodes one image to height × width × 3 sRGB bytes (grey, CMYK and alpha images included). */
export async function decodeImage(
  path: string,
  height: number,
  width: number,
): Promise<{ pixels: Uint8Array; sourceHeight: number; sourceWidth: number }> {
  try {
    const image = sharp(path, { failOn: 'error' });
    const meta = await image.metadata();
    if (!meta.height || !meta.width) throw new Error('no image dimensions in the header');
    const { data, info } = await image
      .removeAlpha()
      .toColourspace('srgb')
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== height * width * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
    }
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), sourceHeight: meta.height, sourceWidth: meta.width };
  } catch (err) {
    throw new Error(`cannot decode image ${path}: ${(err as Error).message}`);
  }
}
