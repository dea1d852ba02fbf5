import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR10_FILES, loadCifar10 } from './cifar';

const RECORD = 3073;

/** A record whose pixel values encode (record, channel, position) so the CHW → HWC conversion is checkable. */
function record(label: number, seed: number): Buffer {
  const b = Buffer.alloc(RECORD);
  b[0] = label;
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) b[1 + c * 1024 + p] = (seed * 7 + c * 50 + p) % 256;
  return b;
}

describe('loadCifar10 (generated binary batches)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unigrad-cifar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const nested = join(dir, 'cifar-10-batches-bin');
  mkdirSync(nested);
  const perFile = 3;
  CIFAR10_FILES.train.forEach((name, f) => {
    writeFileSync(join(nested, name), Buffer.concat([0, 1, 2].map((r) => record((f * 3 + r) % 10, f * 3 + r))));
  });
  writeFileSync(join(nested, 'test_batch.bin'), Buffer.concat([record(9, 100), record(0, 101), record(5, 102)]));

  it('reads labels and converts planar CHW to HWC, from the parent or the batches folder', () => {
    for (const root of [dir, nested]) {
      const train = loadCifar10(root, 'train', { recordsPerFile: perFile });
      expect([train.n, train.height, train.width, train.channels]).toEqual([15, 32, 32, 3]);
      expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
      const k = 7;
      const p = 33; // row 1, column 1
      for (let c = 0; c < 3; c++) expect(train.images[k * 3072 + 3 * p + c]).toBe((k * 7 + c * 50 + p) % 256);
    }
    const test = loadCifar10(dir, 'test', { recordsPerFile: perFile });
    expect(Array.from(test.labels)).toEqual([9, 0, 5]);
    expect(test.classes[9]).toBe('truck');
    expect(test.mean).toHaveLength(3);
  });

  it('rejects a file of the wrong length, naming it', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'test_batch.bin'), Buffer.concat([record(1, 0), record(2, 1).subarray(0, 100)]));
    expect(() => loadCifar10(bad, 'test', { recordsPerFile: 2 })).toThrow(/bad\/test_batch\.bin: wrong length 3173 bytes, not a whole number of 3073-byte records/);
    writeFileSync(join(bad, 'test_batch.bin'), Buffer.concat([record(1, 0), record(2, 1)]));
    expect(() => loadCifar10(bad, 'test')).toThrow(/test_batch\.bin: 2 records, expected 10000/);
  });

  it('rejects a label outside 0..9, a missing file and a missing directory', () => {
    const bad = join(dir, 'labels');
    mkdirSync(bad);
    writeFileSync(join(bad, 'test_batch.bin'), Buffer.concat([record(1, 0), record(57, 1)]));
    expect(() => loadCifar10(bad, 'test', { recordsPerFile: 2 })).toThrow(/test_batch\.bin: label 57 in record 1 is outside 0\.\.9/);
    expect(() => loadCifar10(bad, 'train', { recordsPerFile: 2 })).toThrow(/data_batch_1\.bin is missing/);
    expect(() => loadCifar10(join(dir, 'absent'), 'test')).toThrow(/absent does not exist/);
  });
});
