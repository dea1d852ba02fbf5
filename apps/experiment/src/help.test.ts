import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');

describe('npm run reproduce -- --help / --list', () => {
  it('--help exits 0 and lists its own flags', () => {
    const result = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/experiment/src/reproduce.ts', '--help'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    for (const flag of ['--rows <cells>', '--seeds <n|list>', '--force', '--table-out <dir>']) expect(result.stdout).toContain(flag);
  });

  it('--list prints the chosen cells from the method registry', () => {
    const result = spawnSync('npx', ['ts-node', '--transpile-only', 'apps/experiment/src/reproduce.ts', '--list', '--rows', 'unigrad'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['unigrad:grad-no-mm', 'unigrad:grad-mm']);
  });
});
