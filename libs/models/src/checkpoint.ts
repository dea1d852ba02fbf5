// One-file checkpoints: named tensors plus JSON metadata, written atomically (temp file + rename).
//
// Layout (all integers little-endian):
//   bytes 0..7    magic "UGCKPT01"
//   bytes 8..11   uint32 H = byte length of the JSON header
//   bytes 12..    H bytes of UTF-8 JSON: { format, version, dataBytes, tensors: [{name, dtype, shape, offset,
//                 byteLength}], meta }
//   zero padding to a multiple of 8, then `dataBytes` bytes of raw little-endian tensor data; each tensor's
//   offset is relative to the start of that data block.
// Version 2 adds `sha256` to the header: the SHA-256 of the whole file with the 64 hex digits of that field
// written as zeros, so a flipped byte anywhere (tensors, metadata, padding) fails the load. Version 1 files
// (no checksum) are still read.
// The reader checks the magic, that the header fits in the file, that every tensor's byte length matches its
// shape and lies inside the data block, and that the file has exactly the announced data length, so a
// truncated or foreign file fails loudly, naming the file.
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@unigrad/core';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

const MAGIC = 'UGCKPT01';
const PREAMBLE_BYTES = 12;
const FORMAT = 'unigrad-checkpoint';
const VERSION = 2;
const CHECKSUM_FIELD = '"sha256":"';
const ZERO_DIGEST = '0'.repeat(64);

export type CheckpointDtype = 'float32' | 'int32';

export interface StoredTensor {
  shape: number[];
  dtype: CheckpointDtype;
  data: Float32Array | Int32Array;
}

export interface Checkpoint {
  tensors: Record<string, StoredTensor>;
  meta: unknown;
}

interface TensorEntry {
  name: string;
  dtype: CheckpointDtype;
  shape: number[];
  offset: number;
  byteLength: number;
}

interface Header {
  format: string;
  version: number;
  dataBytes: number;
  tensors: TensorEntry[];
  meta: unknown;
  /** Version 2: SHA-256 (hex) of the file with this field's digits zeroed. */
  sha256?: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`checkpoint ${path}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

function assertLittleEndianHost(): void {
  // Typed arrays use the host byte order; every platform Node supports in practice is little-endian.
  if (endianness() !== 'LE') throw new Error('checkpoint I/O needs a little-endian host');
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Writes `tensors` (float32 or int32) and JSON-serialisable `meta` to `path` as one file, atomically. */
export function saveCheckpoint(path: string, checkpoint: { tensors: Record<string, tf.Tensor | StoredTensor>; meta: unknown }): void {
  assertLittleEndianHost();
  const entries: TensorEntry[] = [];
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') {
      throw new Error(`saveCheckpoint ${path}: tensor '${name}' has dtype ${t.dtype}; only float32 and int32 are stored`);
    }
    const data = t instanceof tf.Tensor ? (t.dataSync() as Float32Array | Int32Array) : t.data;
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`saveCheckpoint ${path}: tensor '${name}' has ${data.length} values for shape [${t.shape}]`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, byteLength: bytes.byteLength });
    payloads.push(bytes);
    offset = align8(offset + bytes.byteLength);
  }
  // The checksum field comes first, so its position does not depend on what the metadata contains.
  const header: Header = { sha256: ZERO_DIGEST, format: FORMAT, version: VERSION, dataBytes: offset, tensors: entries, meta: checkpoint.meta };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align8(PREAMBLE_BYTES + headerBytes.byteLength);
  const file = Buffer.alloc(dataStart + offset); // zero-filled, so the padding is deterministic
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(headerBytes.byteLength, 8);
  headerBytes.copy(file, PREAMBLE_BYTES);
  entries.forEach((e, i) => file.set(payloads[i], dataStart + e.offset));
  const digestAt = PREAMBLE_BYTES + 1 + CHECKSUM_FIELD.length;
  file.write(sha256Hex(file), digestAt, 'latin1');
  writeFileAtomic(path, file);
}

/** Reads a file written by saveCheckpoint. Errors (CheckpointError) name the file and what is wrong with it. */
export function loadCheckpoint(path: string): Checkpoint {
  assertLittleEndianHost();
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${(err as Error).message})`);
  }
  if (file.byteLength < PREAMBLE_BYTES) {
    throw new CheckpointError(path, `file is ${file.byteLength} bytes, shorter than the ${PREAMBLE_BYTES}-byte preamble (truncated or empty)`);
  }
  const magic = file.toString('latin1', 0, 8);
  if (magic !== MAGIC) throw new CheckpointError(path, `bad magic ${JSON.stringify(magic)} (expected "${MAGIC}"): not a UniGrad checkpoint`);
  const headerLength = file.readUInt32LE(8);
  if (PREAMBLE_BYTES + headerLength > file.byteLength) {
    throw new CheckpointError(path, `header length ${headerLength} runs beyond the end of the ${file.byteLength}-byte file (truncated or corrupt)`);
  }
  let header: Header;
  try {
    header = JSON.parse(file.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)) as Header;
  } catch (err) {
    throw new CheckpointError(path, `header is not valid JSON (${(err as Error).message}): corrupt file`);
  }
  if (header === null || typeof header !== 'object' || header.format !== FORMAT || !Array.isArray(header.tensors) || !Number.isInteger(header.dataBytes)) {
    throw new CheckpointError(path, 'header lacks format/tensors/dataBytes: corrupt file');
  }
  if (header.version !== VERSION && header.version !== 1) throw new CheckpointError(path, `format version ${header.version} is not supported (this reader knows 1 and ${VERSION})`);
  const dataStart = align8(PREAMBLE_BYTES + headerLength);
  const found = file.byteLength - dataStart;
  if (found !== header.dataBytes) {
    throw new CheckpointError(path, `data length mismatch: header announces ${header.dataBytes} bytes of tensor data, file has ${found} (truncated or corrupt)`);
  }
  if (header.version === VERSION) {
    const digestAt = PREAMBLE_BYTES + 1 + CHECKSUM_FIELD.length;
    const stored = file.toString('latin1', digestAt, digestAt + 64);
    if (file.toString('latin1', PREAMBLE_BYTES + 1, digestAt) !== CHECKSUM_FIELD || stored !== header.sha256) {
      throw new CheckpointError(path, 'header has no checksum where version 2 puts it: corrupt file');
    }
    const zeroed = Buffer.from(file);
    zeroed.write(ZERO_DIGEST, digestAt, 'latin1');
    const actual = sha256Hex(zeroed);
    if (actual !== stored) {
      throw new CheckpointError(path, `checksum mismatch (file sha256 ${actual.slice(0, 12)}…, header says ${stored.slice(0, 12)}…): the file is corrupt; use an earlier checkpoint or rerun`);
    }
  }

  const tensors: Record<string, StoredTensor> = {};
  for (const e of header.tensors) {
    const size = Array.isArray(e.shape) ? e.shape.reduce((a, b) => a * b, 1) : NaN;
    if (e.dtype !== 'float32' && e.dtype !== 'int32') throw new CheckpointError(path, `tensor '${e.name}' has unsupported dtype ${e.dtype}`);
    if (e.byteLength !== size * 4) {
      throw new CheckpointError(path, `tensor '${e.name}' has ${e.byteLength} bytes but shape [${e.shape}] needs ${size * 4}: corrupt header`);
    }
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset + e.byteLength > header.dataBytes) {
      throw new CheckpointError(path, `tensor '${e.name}' (offset ${e.offset}, ${e.byteLength} bytes) lies outside the ${header.dataBytes}-byte data block`);
    }
    if (e.name in tensors) throw new CheckpointError(path, `tensor '${e.name}' appears twice`);
    // Copy into a fresh, aligned typed array (the file buffer's offsets need not be 4-byte aligned).
    const data = e.dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    new Uint8Array(data.buffer).set(file.subarray(dataStart + e.offset, dataStart + e.offset + e.byteLength));
    tensors[e.name] = { shape: e.shape, dtype: e.dtype, data };
  }
  return { tensors, meta: header.meta };
}

/** A stored tensor as a tf.Tensor (the caller owns and disposes it). */
export function storedToTensor(t: StoredTensor): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}
