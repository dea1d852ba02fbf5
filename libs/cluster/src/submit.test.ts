// submitArray without a cluster: a PATH without sbatch, and fake sbatch/sinfo/scontrol/scancel that record every
// call, so "nothing was written or submitted" is checked, not assumed.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterError } from './errors';
import { ARRAY_JOB_ID_PLACEHOLDER } from './render';
import { submitArray, validateSpec, type ArraySpec } from './submit';

const root = mkdtempSync(join(tmpdir(), 'cluster-submit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const calls = join(root, 'calls.log');
const fakeBin = join(root, 'bin');
mkdirSync(fakeBin);
const fake = (name: string, body: string) => {
  writeFileSync(join(fakeBin, name), `#!/bin/bash\necho "${name} $*" >> '${calls}'\n${body}\n`);
  chmodSync(join(fakeBin, name), 0o755);
};
// sbatch: --test-only reads the script from stdin and rejects it when it names the partition "broken";
// --parsable prints the next job id (100, 101, ...) unless FAKE_SBATCH_FAIL_AT equals that id.
fake('sbatch', `
if [ "$1" = --test-only ]; then
  if /bin/grep -q -- '--partition=broken' -; then echo "sbatch: error: Invalid generic resource (gres) specification" >&2; exit 1; fi
  echo "sbatch: Job 0 to start at now" >&2; exit 0
fi
n=$(/bin/cat '${root}/next' 2>/dev/null || echo 100); echo $((n + 1)) > '${root}/next'
if [ "\${FAKE_SBATCH_FAIL_AT:-}" = "$n" ]; then echo "sbatch: error: Batch job submission failed: Invalid dependency" >&2; exit 1; fi
echo "$n;unigrad-local"`);
fake('sinfo', 'printf "local*\\ngpu\\nbroken\\n"');
fake('scontrol', 'exit 1');
fake('scancel', 'exit 0');

const emptyBin = join(root, 'empty-bin');
mkdirSync(emptyBin);

let n = 0;
const spec = (over: Partial<ArraySpec> = {}): ArraySpec => ({
  name: 'sweep',
  tasks: ['run --cell a --seed 1', 'run --cell b --seed 1'],
  cwd: root,
  scriptDir: join(root, `sub-${++n}`),
  maxParallel: 2,
  env: { PATH: fakeBin, MLFLOW_TRACKING_URI: 'http://mlflow:5000' },
  requireEnv: ['MLFLOW_TRACKING_URI'],
  after: { command: 'npm run table' },
  ...over,
});
const recorded = () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '');
const rejects = async (s: ArraySpec, code: string, message: RegExp) => {
  const err = await submitArray(s).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ClusterError);
  expect((err as ClusterError).code).toBe(code);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toContain('\n');
  expect(existsSync(s.scriptDir)).toBe(false); // nothing written
  expect(recorded()).not.toMatch(/--parsable/); // nothing submitted
};

beforeEach(() => rmSync(calls, { force: true }));

describe('bad input: one clear error, nothing written, nothing submitted', () => {
  it('no sbatch on PATH', async () => {
    await rejects(spec({ env: { PATH: emptyBin, MLFLOW_TRACKING_URI: 'http://x' } }), 'NO_SBATCH', /sbatch not found on PATH.*npm run slurm:local/);
  });

  it('a required environment value is missing', async () => {
    await rejects(spec({ env: { PATH: fakeBin } }), 'MISSING_ENV', /MLFLOW_TRACKING_URI is not set.*export MLFLOW_TRACKING_URI=/);
    expect(recorded()).toBe(''); // checked before any SLURM command ran
    await rejects(spec({ env: { PATH: fakeBin, MLFLOW_TRACKING_URI: '' }, requireEnv: ['MLFLOW_TRACKING_URI', 'DATA_DIR'] }), 'MISSING_ENV', /MLFLOW_TRACKING_URI, DATA_DIR are not set/);
  });

  it('an unknown partition names the ones that exist', async () => {
    await rejects(spec({ partition: 'gpux' }), 'UNKNOWN_PARTITION', /unknown partition 'gpux' \(this cluster has: local\*, gpu, broken\)/);
  });

  it('an option the cluster refuses (sbatch --test-only)', async () => {
    await rejects(spec({ partition: 'broken' }), 'REJECTED', /rejected the array script: Invalid generic resource/);
  });

  it('a malformed spec, before any command runs', async () => {
    const bad: Array<[Partial<ArraySpec>, RegExp]> = [
      [{ tasks: [] }, /no tasks/],
      [{ tasks: ['a', ' '] }, /task 1 is empty/],
      [{ tasks: ['a\nb'] }, /task 0 contains a line break/],
      [{ name: 'my job' }, /job name 'my job'/],
      [{ maxParallel: 0 }, /maxParallel 0/],
      [{ time: '4h' }, /time '4h' is not a SLURM time/],
      [{ signal: 'TERM 120' }, /signal 'TERM 120'/],
      [{ gres: 'gpu 1' }, /gres 'gpu 1'/],
      [{ scriptDir: join(root, 'with space') }, /scriptDir .* contains whitespace/],
      [{ sbatchOptions: ['--array=0-3'] }, /set by @unigrad\/cluster itself/],
      [{ requireEnv: ['NOT-A-NAME'] }, /not an environment variable name/],
      [{ after: { command: ' ' } }, /after.command is empty/],
    ];
    for (const [over, message] of bad) {
      expect(() => validateSpec(spec(over))).toThrow(message);
      await rejects(spec(over), 'INVALID_SPEC', message);
    }
    expect(recorded()).toBe('');
  });
});

describe('submission', () => {
  it('dry run: renders both scripts, writes and submits nothing (no cluster needed)', async () => {
    const s = spec({ dryRun: true, env: { PATH: emptyBin, MLFLOW_TRACKING_URI: 'http://mlflow:5000' } });
    const r = await submitArray(s);
    expect(r.dryRun).toBe(true);
    expect(r.arrayJobId).toBeUndefined();
    expect(r.scripts.array.content).toContain('#SBATCH --array=0-1%2');
    expect(r.scripts.tasks.content).toBe('run --cell a --seed 1\nrun --cell b --seed 1\n');
    expect(r.scripts.after?.content).toContain(`#SBATCH --dependency=afterany:${ARRAY_JOB_ID_PLACEHOLDER}`);
    expect(existsSync(s.scriptDir)).toBe(false);
    expect(recorded()).toBe('');
  });

  it('checks, writes the submission directory, submits the array, then the after job depending on its id', async () => {
    const s = spec({ partition: 'gpu', gres: 'gpu:1', time: '01:00:00' });
    const r = await submitArray(s);
    expect(r).toMatchObject({ dryRun: false, arrayJobId: expect.stringMatching(/^\d+$/), afterJobId: expect.stringMatching(/^\d+$/) });
    expect(Number(r.afterJobId)).toBe(Number(r.arrayJobId) + 1);
    const lines = recorded().trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['sinfo -h', 'sbatch --test-only', 'sbatch --test-only', 'sbatch --parsable', 'sbatch --parsable']);
    expect(lines[3]).toBe(`sbatch --parsable ${r.scripts.array.path}`);

    const [dir] = readdirSync(s.scriptDir);
    expect(join(s.scriptDir, dir)).toBe(r.dir);
    expect(dir).toMatch(/^sweep-\d{8}-\d{6}Z-[0-9a-f]{4}$/);
    expect(readFileSync(r.scripts.tasks.path, 'utf8')).toBe('run --cell a --seed 1\nrun --cell b --seed 1\n');
    const array = readFileSync(r.scripts.array.path, 'utf8');
    expect(array).toContain(`#SBATCH --output=${r.logDir}/%A_%a.out`);
    expect(array).toContain('#SBATCH --gres=gpu:1');
    expect(array).toContain('MLFLOW_TRACKING_URI is not set');
    expect(existsSync(r.logDir)).toBe(true);
    const after = readFileSync(r.scripts.after!.path, 'utf8');
    expect(after).toContain(`#SBATCH --dependency=afterany:${r.arrayJobId}\n`);
    expect(after).toContain('#SBATCH --partition=gpu');
    expect(JSON.parse(readFileSync(join(r.dir, 'submission.json'), 'utf8'))).toMatchObject({ arrayJobId: r.arrayJobId, afterJobId: r.afterJobId, tasks: s.tasks });
    expect(r.follow).toEqual(expect.arrayContaining([`squeue -r -j ${r.arrayJobId},${r.afterJobId}`, 'MLflow: http://mlflow:5000']));
  });

  it('cancels the array again when the after job cannot be submitted', async () => {
    const next = existsSync(join(root, 'next')) ? Number(readFileSync(join(root, 'next'), 'utf8')) : 100;
    const s = spec({ env: { PATH: fakeBin, MLFLOW_TRACKING_URI: 'http://x', FAKE_SBATCH_FAIL_AT: String(next + 1) } });
    const err = await submitArray(s).then(() => undefined, (e: unknown) => e as ClusterError);
    expect(err?.code).toBe('SBATCH_FAILED');
    expect(err?.message).toMatch(new RegExp(`Invalid dependency; cancelled array job ${next} again`));
    expect(recorded()).toContain(`scancel ${next}\n`);
  });
});
