import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint, storedToTensor } from './checkpoint';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ckpt-'));
}

function writeSample(path: string): void {
  saveCheckpoint(path, {
    tensors: {
      'encoder.conv1.weight': tf.tensor4d(Float32Array.from({ length: 2 * 2 * 1 * 3 }, (_, i) => i / 7 - 0.5), [2, 2, 1, 3]),
      'projector.6.bias': tf.tensor1d([1.5, -2.25, Math.PI]),
      step: tf.scalar(123456, 'int32'),
      odd: { shape: [3], dtype: 'int32', data: Int32Array.from([-1, 2 ** 31 - 1, -(2 ** 31)]) },
      empty: tf.zeros([0, 4]),
    },
    meta: { epoch: 3, rng: [1, 2, 3, 4], config: { method: 'unigrad', lambda: 100 }, note: 'ünïcödé' },
  });
}

describe('checkpoint files', () => {
  it('round-trips tensors (float32, int32, scalar, empty) and metadata exactly', () => {
    const dir = tempDir();
    const path = join(dir, 'latest.ckpt');
    writeSample(path);
    const ckpt = loadCheckpoint(path);
    expect(Object.keys(ckpt.tensors)).toEqual(['encoder.conv1.weight', 'projector.6.bias', 'step', 'odd', 'empty']);
    const w = ckpt.tensors['encoder.conv1.weight'];
    expect(w.shape).toEqual([2, 2, 1, 3]);
    expect(w.dtype).toBe('float32');
    expect(Array.from(w.data)).toEqual(Array.from(Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5)));
    expect(Array.from(ckpt.tensors['projector.6.bias'].data)).toEqual(Array.from(Float32Array.from([1.5, -2.25, Math.PI])));
    expect(ckpt.tensors.step).toEqual({ shape: [], dtype: 'int32', data: Int32Array.from([123456]) });
    expect(Array.from(ckpt.tensors.odd.data)).toEqual([-1, 2 ** 31 - 1, -(2 ** 31)]);
    expect(ckpt.tensors.empty.shape).toEqual([0, 4]);
    expect(ckpt.meta).toEqual({ epoch: 3, rng: [1, 2, 3, 4], config: { method: 'unigrad', lambda: 100 }, note: 'ünïcödé' });
    const t = storedToTensor(ckpt.tensors.step);
    expect(t.dtype).toBe('int32');
    expect(t.dataSync()[0]).toBe(123456);
    // Atomic: only the target file remains; rewriting replaces it.
    writeSample(path);
    expect(readdirSync(dir)).toEqual(['latest.ckpt']);
  });

  it('rejects dtypes it cannot store', () => {
    const path = join(tempDir(), 'x.ckpt');
    expect(() => saveCheckpoint(path, { tensors: { flag: tf.tensor1d([true], 'bool') }, meta: null })).toThrow(/'flag' has dtype bool/);
  });

  describe('errors name the file and the problem', () => {
    const dir = tempDir();
    const good = join(dir, 'good.ckpt');
    writeSample(good);
    const bytes = readFileSync(good);
    const variant = (name: string, data: Uint8Array): string => {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    };
    const expectError = (path: string, pattern: RegExp) => {
      let caught: unknown;
      try {
        loadCheckpoint(path);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CheckpointError);
      expect((caught as Error).message).toContain(path);
      expect((caught as Error).message).toMatch(pattern);
    };

    it('missing file', () => expectError(join(dir, 'nope.ckpt'), /file not found/));
    it('truncated below the preamble', () => expectError(variant('tiny.ckpt', bytes.subarray(0, 7)), /shorter than the 12-byte preamble/));
    it('bad magic', () => {
      const copy = Buffer.from(bytes);
      copy.write('PK\u0003\u0004', 0, 'latin1');
      expectError(variant('magic.ckpt', copy), /bad magic .*not a UniGrad checkpoint/);
    });
    it('header length beyond the file', () => {
      const copy = Buffer.from(bytes);
      copy.writeUInt32LE(bytes.byteLength, 8);
      expectError(variant('header.ckpt', copy), /header length \d+ runs beyond the end/);
    });
    it('header cut in the middle', () => expectError(variant('cut.ckpt', bytes.subarray(0, 40)), /header length \d+ runs beyond the end/));
    it('corrupt header JSON', () => {
      const copy = Buffer.from(bytes);
      copy.write('#', 12, 'latin1');
      expectError(variant('json.ckpt', copy), /header is not valid JSON/);
    });
    it('data truncated', () => expectError(variant('short.ckpt', bytes.subarray(0, bytes.byteLength - 4)), /data length mismatch: header announces \d+ bytes .* file has \d+/));
    it('trailing bytes', () => expectError(variant('long.ckpt', Buffer.concat([bytes, Buffer.alloc(8)])), /data length mismatch/));
    it('one flipped bit in the tensor data fails the checksum', () => {
      const copy = Buffer.from(bytes);
      copy[copy.byteLength - 3] ^= 0x01;
      expectError(variant('flip-data.ckpt', copy), /checksum mismatch.*corrupt/);
    });
    it('one changed character in the metadata fails the checksum', () => {
      const copy = Buffer.from(bytes);
      const at = copy.indexOf('"meta"');
      const digit = copy.indexOf('1', at); // a digit inside the metadata, still valid JSON after the change
      copy[digit] = '2'.charCodeAt(0);
      expectError(variant('flip-meta.ckpt', copy), /checksum mismatch/);
    });
  });
});
