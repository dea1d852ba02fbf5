import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitStaleness, shortCommit } from './provenance';

// A throwaway repository: commit A, then a prose-only change (B), then a code change (C).
const repo = mkdtempSync(join(tmpdir(), 'provenance-'));
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
function commit(files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', message);
  return git('rev-parse', 'HEAD');
}
git('init', '-q');
const A = commit({ 'libs/x/src/a.ts': 'export const a = 1;\n', 'README.md': '# r\n', 'configs/results-notes/fmnist.md': 'n\n', 'data/big.txt': '1\n' }, 'A');
const B = commit({ 'libs/x/README.md': 'docs\n', 'libs/x/src/a.test.ts': 'test\n', 'configs/results-notes/fmnist.md': 'notes changed\n', 'README.md': '# r2\n', 'data/big.txt': '2\n' }, 'B: prose, notes, tests, non-code');
const C = commit({ 'libs/x/src/a.ts': 'export const a = 2;\n' }, 'C: code');

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('gitStaleness', () => {
  it('marks a commit stale only when code under libs/apps/configs/experiments/tools changed since', () => {
    const stale = gitStaleness({ cwd: repo });
    expect(stale(C)).toBe(false); // HEAD itself
    expect(stale(B)).toBe(true); // C changed libs/x/src/a.ts
    expect(stale(A)).toBe(true);
    expect(stale.description).toBe(`code under libs, apps, configs, experiments, tools (not configs/results-notes, *.md, *.test.ts, *.test.mts) differs from HEAD (${shortCommit(C)})`);
  });

  it('ignores *.md, tests, configs/results-notes and directories outside the code paths', () => {
    const atB = gitStaleness({ cwd: repo, against: B });
    expect(atB(A)).toBe(false); // A → B touched only README.md files, a test file, results notes and data/
    expect(atB(B)).toBe(false);
  });

  it('answers undefined for a commit the repository does not have, or a malformed one', () => {
    const stale = gitStaleness({ cwd: repo });
    expect(stale('deadbeefdeadbeefdeadbeefdeadbeefdeadbeef')).toBeUndefined();
    expect(stale('not a hash; rm -rf /')).toBeUndefined();
    expect(stale(shortCommit(B))).toBe(true); // a short hash is fine
  });

  it('refuses a directory that is not a git repository', () => {
    const plain = mkdtempSync(join(tmpdir(), 'not-a-repo-'));
    try {
      expect(() => gitStaleness({ cwd: plain })).toThrow();
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
