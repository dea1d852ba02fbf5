import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageFolder } from './image-folder';

const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });

describe('ImageFolder (generated JPEG/PNG fixtures)', () => {
  const root = mkdtempSync(join(tmpdir(), 'unigrad-imgfolder-'));
  const train = join(root, 'train');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    for (const cls of ['n02', 'n01']) mkdirSync(join(train, cls), { recursive: true });
    await solid(40, 30, [255, 0, 0]).png().toFile(join(train, 'n01', 'a.png'));
    await solid(20, 50, [0, 0, 255]).jpeg({ quality: 100 }).toFile(join(train, 'n01', 'b.JPEG'));
    await sharp(Buffer.alloc(16 * 16, 128), { raw: { width: 16, height: 16, channels: 1 } })
      .png()
      .toFile(join(train, 'n02', 'gray.png'));
    writeFileSync(join(train, 'n02', 'notes.txt'), 'not an image');
  });

  it('lists classes sorted, labels by folder, and decodes to size×size×3 with source sizes', async () => {
    const ds = new ImageFolder(train, { size: 8 });
    expect(ds.classes).toEqual(['n01', 'n02']);
    expect(ds.n).toBe(3);
    expect(Array.from(ds.labels)).toEqual([0, 0, 1]);
    expect([ds.height, ds.width, ds.channels]).toEqual([8, 8, 3]);
    const raw = await ds.readBatch([2, 0, 1]);
    expect(raw.pixels.length).toBe(3 * 8 * 8 * 3);
    expect(Array.from(raw.labels)).toEqual([1, 0, 0]);
    expect(Array.from(raw.sourceHeights)).toEqual([16, 30, 50]);
    expect(Array.from(raw.sourceWidths)).toEqual([16, 40, 20]);
    const pixel = (b: number, i: number) => Array.from(raw.pixels.subarray((b * 64 + i) * 3, (b * 64 + i) * 3 + 3));
    expect(pixel(0, 10)).toEqual([128, 128, 128]); // 1-channel PNG comes out as 3 equal channels
    expect(pixel(1, 27)).toEqual([255, 0, 0]);
    const blue = pixel(2, 27);
    expect(blue[2]).toBeGreaterThan(240);
    expect(blue[0] + blue[1]).toBeLessThan(20);
  });

  it('accepts a given class list (val folders use the train classes)', () => {
    const ds = new ImageFolder(train, { size: 8, classes: ['n02', 'n01'] });
    expect(Array.from(ds.labels)).toEqual([0, 1, 1]);
    expect(() => new ImageFolder(train, { size: 8, classes: ['n01'] })).toThrow(/n02 is not one of the 1 given classes/);
  });

  it('names the file that cannot be decoded', async () => {
    const dir = join(root, 'broken');
    mkdirSync(join(dir, 'c'), { recursive: true });
    const good = await solid(10, 10, [1, 2, 3]).jpeg().toBuffer();
    writeFileSync(join(dir, 'c', 'cut.jpg'), good.subarray(0, 40));
    writeFileSync(join(dir, 'c', 'text.png'), 'hello');
    const ds = new ImageFolder(dir, { size: 8 });
    await expect(ds.readBatch([0])).rejects.toThrow(/cannot decode image .*broken\/c\/cut\.jpg: /);
    await expect(ds.readBatch([1])).rejects.toThrow(/cannot decode image .*broken\/c\/text\.png: /);
  });

  it('rejects a class folder without images, a root without classes, and a missing directory', () => {
    const dir = join(root, 'empty-class');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'b', 'readme.txt'), 'x');
    expect(() => new ImageFolder(dir)).toThrow(/class folder .*empty-class\/a has no images/);
    const flat = join(root, 'flat');
    mkdirSync(flat);
    expect(() => new ImageFolder(flat)).toThrow(/flat has no class sub-folders/);
    expect(() => new ImageFolder(join(root, 'missing'))).toThrow(/directory .*missing does not exist/);
  });
});
