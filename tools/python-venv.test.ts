// tools/lib/python-venv.sh (sourced by mlflow:setup and bench:setup): each failure is one line naming the fix, with
// a non-zero exit; a failed venv creation leaves nothing behind, and a directory it did not create is never deleted.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const LIB = resolve(__dirname, 'lib', 'python-venv.sh');
const work = mkdtempSync(join(tmpdir(), 'python-venv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `script` in bash with the library sourced and `set -e`, as the setup scripts do. */
function sh(script: string, env: Record<string, string> = {}) {
  return spawnSync('bash', ['-c', `set -euo pipefail; source '${LIB}'; ${script}`], { encoding: 'utf8', env: { ...process.env, ...env } });
}

/** Whether this machine's python3 can make a venv with pip (Debian: the python3-venv package). */
const canMakeVenv = spawnSync('python3', ['-c', 'import ensurepip, venv']).status === 0;

describe('tools/lib/python-venv.sh', () => {
  it.skipIf(spawnSync('python3', ['--version']).status !== 0)('require_python: accepts this machine\'s python3 (3.10+) silently', () => {
    const r = sh('require_python test:setup; echo "ok $PYTHON"', { PYTHON: '' });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'ok python3\n', '']);
  });

  it('require_python: a missing interpreter is a one-line error naming the fix', () => {
    const r = sh('require_python test:setup; echo not reached', { PYTHON: join(work, 'no-such-python') });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^test:setup: '.*no-such-python' not found\. Install Python 3\.10\+ .* or set PYTHON=/);
  });

  it('require_python: an interpreter older than 3.10 is refused with its version', () => {
    const old = join(work, 'python-old');
    writeFileSync(old, '#!/bin/sh\ncase "$1" in --version) echo "Python 3.8.1";; *) exit 1;; esac\n');
    chmodSync(old, 0o755);
    const r = sh('require_python test:setup', { PYTHON: old });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`test:setup: needs Python >= 3.10; '${old}' is Python 3.8.1. Set PYTHON=/path/to/python3.10+.`);
  });

  it.skipIf(!canMakeVenv)('ensure_venv: creates a working venv once, then leaves it alone', () => {
    const dir = join(work, 'venv');
    const first = sh(`ensure_venv test:setup '${dir}'`);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^test:setup: creating virtual environment .*venv with Python 3\./);
    expect(spawnSync(join(dir, 'bin', 'python'), ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).stdout.trim()).toBe(dir);
    const again = sh(`ensure_venv test:setup '${dir}'`);
    expect([again.status, again.stdout]).toEqual([0, '']);
  });

  it('ensure_venv: refuses, and keeps, a directory that exists but is not a working venv', () => {
    for (const [name, make] of [
      ['empty', () => undefined],
      ['half-made', (d: string) => writeFileSync(join(d, 'pyvenv.cfg'), 'home = /usr/bin\n')], // python never installed
      ['user-data', (d: string) => writeFileSync(join(d, 'notes.txt'), 'mine\n')],
    ] as const) {
      const dir = join(work, `existing-${name}`);
      mkdirSync(dir);
      make(dir);
      const before = readdirSync(dir);
      const r = sh(`ensure_venv test:setup '${dir}'; echo not reached`);
      expect(r.status, name).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(`test:setup: ${dir} exists but is not a working virtual environment (no pyvenv.cfg, or its python has no pip): remove it, or choose another directory, and run again.`);
      expect(readdirSync(dir)).toEqual(before);
    }
    const dangling = join(work, 'dangling');
    symlinkSync(join(work, 'nowhere'), dangling);
    expect(sh(`ensure_venv test:setup '${dangling}'`).status).toBe(1);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
  });

  it('ensure_venv: accepts an existing venv (pyvenv.cfg and a python with pip) without touching it', () => {
    const dir = join(work, 'fake-venv');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'pyvenv.cfg'), 'home = /usr/bin\n');
    writeFileSync(join(dir, 'bin', 'python'), '#!/bin/sh\n[ "$1 $2 $3" = "-m pip --version" ] && echo "pip 24.0" && exit 0\nexit 1\n');
    chmodSync(join(dir, 'bin', 'python'), 0o755);
    const r = sh(`ensure_venv test:setup '${dir}'`);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(readdirSync(dir).sort()).toEqual(['bin', 'pyvenv.cfg']);
  });

  it('ensure_venv: a failed creation removes the half-made directory and names python3-venv', () => {
    const broken = join(work, 'python-no-venv');
    writeFileSync(broken, `#!/bin/sh\ncase "$1" in --version) echo "Python 3.11.0";; -m) mkdir -p "$3/bin"; exit 1;; esac\n`);
    chmodSync(broken, 0o755);
    const dir = join(work, 'half-made');
    const r = sh(`ensure_venv test:setup '${dir}'; echo not reached`, { PYTHON: broken });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('not reached');
    expect(r.stderr.trim()).toBe(`test:setup: '${broken} -m venv' failed. On Debian/Ubuntu install the venv module: apt-get install python3-venv`);
    expect(existsSync(dir)).toBe(false);
  });
});
