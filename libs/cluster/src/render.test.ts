// The renderers, read as text and, for the array script, run by bash the way a node would run one element.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arrayRange, DEFAULT_SIGNAL, renderAfterScript, renderArrayScript, renderTasksFile, shellQuote, type ArrayScriptInput } from './render';

const base: ArrayScriptInput = { name: 'sweep', taskCount: 5, tasksFile: '/shared/sub/tasks.txt', cwd: '/shared/repo', logDir: '/shared/sub/logs' };
const directives = (script: string) => script.split('\n').filter((l) => l.startsWith('#SBATCH '));

describe('array script', () => {
  it('covers every task once and throttles with %K', () => {
    expect(arrayRange(1)).toBe('0-0');
    expect(arrayRange(5)).toBe('0-4');
    expect(arrayRange(2, 2)).toBe('0-1%2');
    expect(directives(renderArrayScript({ ...base, maxParallel: 3 }))).toContain('#SBATCH --array=0-4%3');
    expect(directives(renderArrayScript(base))).toContain('#SBATCH --array=0-4');
  });

  it('requeues, signals the batch process 120 s before the limit, appends to per-element logs', () => {
    const d = directives(renderArrayScript(base));
    expect(d).toEqual([
      '#SBATCH --job-name=sweep',
      '#SBATCH --array=0-4',
      '#SBATCH --requeue',
      `#SBATCH --signal=${DEFAULT_SIGNAL}`,
      '#SBATCH --open-mode=append',
      '#SBATCH --output=/shared/sub/logs/%A_%a.out',
    ]);
    expect(DEFAULT_SIGNAL).toBe('B:TERM@120');
  });

  it('renders the optional resources and a configurable signal', () => {
    const d = directives(
      renderArrayScript({ ...base, partition: 'gpu', gres: 'gpu:1', time: '04:00:00', signal: 'B:USR1@300', requeue: false, cpusPerTask: 8, mem: '16G', sbatchOptions: ['--account=ssl'] }),
    );
    expect(d).toEqual(expect.arrayContaining([
      '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1', '#SBATCH --time=04:00:00', '#SBATCH --signal=B:USR1@300',
      '#SBATCH --no-requeue', '#SBATCH --cpus-per-task=8', '#SBATCH --mem=16G', '#SBATCH --account=ssl',
    ]));
    expect(d).not.toContain('#SBATCH --requeue');
  });

  it('keeps every #SBATCH line before the first command (sbatch stops reading directives there)', () => {
    const lines = renderArrayScript({ ...base, partition: 'p', requireEnv: ['MLFLOW_TRACKING_URI'] }).split('\n');
    const lastDirective = lines.map((l) => l.startsWith('#SBATCH ')).lastIndexOf(true);
    expect(lines.slice(0, lastDirective + 1).every((l) => l.startsWith('#'))).toBe(true);
  });

  describe('run by bash as one element', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-render-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const tasksFile = join(dir, 'tasks.txt');
    writeFileSync(tasksFile, renderTasksFile(['echo first', `echo "second pid $$ in $(pwd) arg 'q'"`, `FOO=bar bash -c 'echo "child pid $$ $FOO"'`]));
    const script = join(dir, 'array.sbatch');
    writeFileSync(script, renderArrayScript({ ...base, tasksFile, cwd: dir, requireEnv: ['NEEDED_VALUE'] }));
    const element = (id: string, extra: Record<string, string> = {}) =>
      spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_JOB_ID: '77', NEEDED_VALUE: 'x', ...extra } });

    it("takes line SLURM_ARRAY_TASK_ID+1 and execs it in cwd (same pid: the task gets the job's signals)", () => {
      const r = element('1');
      expect(r.status).toBe(0);
      const pid = /element 77_1 start .* restart 0 pid (\d+)/.exec(r.stdout)?.[1];
      expect(pid).toBeDefined();
      expect(r.stdout).toContain(`second pid ${pid} in ${dir} arg 'q'`);
      expect(element('0').stdout).toContain('\nfirst\n');
    });

    it('a task that is one simple command replaces the shell too (no process in between to swallow SIGTERM)', () => {
      const r = element('2');
      const pid = /element 77_2 start .* pid (\d+)/.exec(r.stdout)?.[1];
      expect(r.stdout).toContain(`child pid ${pid} bar`);
    });

    it('fails clearly for an index past the tasks file or a missing required value', () => {
      const past = element('3');
      expect(past.status).toBe(2);
      expect(past.stderr).toContain('no line 4 in');
      const noEnv = element('0', { NEEDED_VALUE: '' });
      expect(noEnv.status).toBe(2);
      expect(noEnv.stderr).toContain('NEEDED_VALUE is not set');
    });
  });
});

describe('after script and tasks file', () => {
  it('depends on the whole array with afterany and runs the command in cwd', () => {
    const s = renderAfterScript({ name: 'sweep-after', arrayJobId: '123', command: "npm run table -- --out 'it s'", cwd: '/shared/repo', logDir: '/l', partition: 'cpu', time: '00:30:00' });
    expect(directives(s)).toEqual([
      '#SBATCH --job-name=sweep-after',
      '#SBATCH --dependency=afterany:123',
      '#SBATCH --kill-on-invalid-dep=yes',
      '#SBATCH --open-mode=append',
      '#SBATCH --output=/l/%x_%j.out',
      '#SBATCH --partition=cpu',
      '#SBATCH --time=00:30:00',
    ]);
    expect(s).toContain("export UNIGRAD_ARRAY_JOB_ID='123'");
    expect(s).toContain("cd '/shared/repo'");
    expect(s).toContain(`exec /bin/bash -c ${shellQuote("npm run table -- --out 'it s'")}`);
  });

  it('writes one task per line and quotes for bash', () => {
    expect(renderTasksFile(['a 1', 'b 2'])).toBe('a 1\nb 2\n');
    expect(spawnSync('bash', ['-c', `printf %s ${shellQuote(`it's "x" $HOME`)}`], { encoding: 'utf8' }).stdout).toBe(`it's "x" $HOME`);
  });
});
