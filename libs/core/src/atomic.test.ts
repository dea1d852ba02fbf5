import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from './atomic';

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'sub', 'ckpt.json');
    writeJsonAtomic(path, { step: 1 });
    writeJsonAtomic(path, { step: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ step: 2 });
    expect(readdirSync(join(dir, 'sub'))).toEqual(['ckpt.json']);
  });

  it('keeps the old file when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'log.txt');
    writeFileSync(path, 'old');
    // A target that is a directory makes the rename fail after the temp file was written.
    expect(() => writeFileAtomic(dir, 'new')).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
  });
});
