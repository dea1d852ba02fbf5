import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_NORM, channelStats } from './dataset';
import { fashionMnistCandidates, findFashionMnistDir, hasFashionMnist, loadFashionMnist, readIdx } from './fashion-mnist';

const realDir = fashionMnistCandidates().find((d) => hasFashionMnist(d));
if (!realDir) {
  console.warn(`[data tests] SKIPPING real Fashion-MNIST tests: not found in ${fashionMnistCandidates().join(', ')} (run \`npm run data:setup\`)`);
}

describe.skipIf(!realDir)('Fashion-MNIST (installed files)', () => {
  const train = realDir ? loadFashionMnist('train', realDir) : null;
  const test = realDir ? loadFashionMnist('test', realDir) : null;

  it('has the official counts, shape and balanced labels', () => {
    for (const [ds, n] of [
      [train!, 60000],
      [test!, 10000],
    ] as const) {
      expect(ds.n).toBe(n);
      expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
      expect(ds.images.length).toBe(n * 784);
      const perClass = new Array(10).fill(0);
      for (const l of ds.labels) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(n / 10));
    }
  });

  it('matches known first records (label 9, Ankle boot, in both splits)', () => {
    expect(train!.labels[0]).toBe(9);
    expect(test!.labels[0]).toBe(9);
    expect(train!.classes[9]).toBe('Ankle boot');
    // Corner pixels of the first train image are background.
    expect(train!.images[0]).toBe(0);
  });

  it('hard-coded mean/std equal those recomputed from the train set', () => {
    const stats = channelStats(train!.images, 1);
    expect(stats.mean[0]).toBeCloseTo(FASHION_MNIST_NORM.mean[0], 6);
    expect(stats.std[0]).toBeCloseTo(FASHION_MNIST_NORM.std[0], 6);
  });

  it('readBatch returns the requested images and labels', async () => {
    const raw = await train!.readBatch([5, 0]);
    expect(Array.from(raw.pixels.subarray(784, 1568))).toEqual(Array.from(train!.images.subarray(0, 784)));
    expect(Array.from(raw.labels)).toEqual([train!.labels[5], train!.labels[0]]);
  });
});

describe('IDX parsing and lookup errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unigrad-idx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const header = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  const write = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('reads a valid gzip and a plain IDX file', () => {
    const body = Buffer.from([1, 2, 3, 4, 5, 6]);
    const plain = write('ok-idx3', Buffer.concat([header(0x803, [1, 2, 3]), body]));
    const gz = write('ok-idx3.gz', gzipSync(Buffer.concat([header(0x803, [1, 2, 3]), body])));
    for (const p of [plain, gz]) {
      const idx = readIdx(p, 3);
      expect(idx.dims).toEqual([1, 2, 3]);
      expect(Array.from(idx.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('rejects a wrong magic number, naming the file', () => {
    const p = write('magic.gz', gzipSync(Buffer.concat([header(0x801, [1, 2, 3]), Buffer.alloc(6)])));
    expect(() => readIdx(p, 3)).toThrow(new RegExp(`${p}: wrong IDX magic 0x00000801, expected 0x00000803`));
  });

  it('rejects a truncated body and trailing bytes', () => {
    const short = write('short', Buffer.concat([header(0x801, [10]), Buffer.alloc(7)]));
    expect(() => readIdx(short, 1)).toThrow(/short: wrong length 15 bytes.*need 18.*truncated/);
    const long = write('long', Buffer.concat([header(0x801, [10]), Buffer.alloc(12)]));
    expect(() => readIdx(long, 1)).toThrow(/long: wrong length 20 bytes.*trailing bytes/);
    const tiny = write('tiny', Buffer.from([0, 0, 8]));
    expect(() => readIdx(tiny, 1)).toThrow(/tiny: 3 bytes is too short/);
  });

  it('rejects a truncated gzip stream', () => {
    const full = gzipSync(Buffer.concat([header(0x801, [1000]), Buffer.alloc(1000, 7)]));
    const p = write('cut.gz', full.subarray(0, full.length - 20));
    expect(() => readIdx(p, 1)).toThrow(/cut\.gz: corrupt or truncated gzip/);
  });

  it('loadFashionMnist rejects wrong counts and mismatched labels, naming the file', () => {
    const sub = join(dir, 'fm');
    mkdirSync(sub);
    writeFileSync(join(sub, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header(0x803, [2, 28, 28]), Buffer.alloc(2 * 784)])));
    writeFileSync(join(sub, 'train-labels-idx1-ubyte.gz'), gzipSync(Buffer.concat([header(0x801, [3]), Buffer.alloc(3)])));
    expect(() => loadFashionMnist('train', sub)).toThrow(/train-labels-idx1-ubyte\.gz: 3 labels for 2 images/);
    writeFileSync(join(sub, 'train-labels-idx1-ubyte.gz'), gzipSync(Buffer.concat([header(0x801, [2]), Buffer.alloc(2)])));
    expect(() => loadFashionMnist('train', sub)).toThrow(/train-images-idx3-ubyte\.gz: 2 images, the official train split has 60000/);
    expect(() => loadFashionMnist('test', sub)).toThrow(/t10k-images-idx3-ubyte\(\.gz\) is missing; run `npm run data:setup`/);
  });

  it('a missing directory and an empty search give clear errors naming every place', () => {
    expect(() => loadFashionMnist('train', join(dir, 'nope'))).toThrow(/nope does not exist; run `npm run data:setup`/);
    const search = { env: { FASHION_MNIST_DIR: 'also-nope' }, cwd: dir, systemDir: join(dir, 'no-system') };
    expect(fashionMnistCandidates(search)).toEqual([join(dir, 'also-nope'), join(dir, 'data/fashion-mnist'), join(dir, 'no-system')]);
    expect(() => findFashionMnistDir(search)).toThrow(/also-nope, .*data\/fashion-mnist, .*no-system\. Run `npm run data:setup`.*zalandoresearch/);
  });

  it('finds a directory given through FASHION_MNIST_DIR before the others', () => {
    const sub = join(dir, 'fm-found');
    mkdirSync(sub);
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(sub, name), Buffer.alloc(0));
    }
    expect(findFashionMnistDir({ env: { FASHION_MNIST_DIR: sub }, cwd: dir })).toBe(sub);
  });
});
