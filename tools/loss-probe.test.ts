// Spawns the real CLI (`npm run --silent loss-probe`) for every method × form × target of issue 3 and the error
// cases. Answers are checked against the library called in-process (the plumbing: defaults, target handling,
// JSON) and, for a representative subset, against independent float64 references.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Rng, initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  correlationJs,
  directPredJs,
  gradThroughNormalisation,
  maxRelativeError,
  normalizeRowsJs,
  ntXentJs,
  predictorCosineJs,
  randomMatrix,
  vicregJs,
  barlowTwinsJs,
  mocoInfoNceJs,
  type Mat,
} from '../libs/losses/src/js-reference';
import { runProbe } from './loss-probe';

const ROOT = resolve(__dirname, '..');
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function probe(request: unknown): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', '--silent', 'loss-probe'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(typeof request === 'string' ? request : JSON.stringify(request));
  });
}

/** Runs the requests two at a time (this machine has 2 cores). */
async function probeAll(requests: unknown[]): Promise<Result[]> {
  const results: Result[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      results[i] = await probe(requests[i]);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

const rng = new Rng(2022);
const N = 4;
const D = 5;
const p1 = randomMatrix(N, D, rng, 1, 0.2);
const p2 = randomMatrix(N, D, rng, 1, 0.2);
const p1m = p1.map((r) => r.map((v) => v + 0.3 * rng.normal()));
const p2m = p2.map((r) => r.map((v) => v + 0.3 * rng.normal()));
const q1 = randomMatrix(N, D, rng);
const q2 = randomMatrix(N, D, rng);
const F = correlationJs(normalizeRowsJs(q1), normalizeRowsJs(q2));
const queue = normalizeRowsJs(randomMatrix(10, D, rng));

interface Case {
  name: string;
  request: Record<string, unknown>;
}
const cases: Case[] = [];
for (const method of ['unigrad', 'simclr', 'moco', 'simsiam', 'byol', 'vicreg', 'barlow_twins']) {
  cases.push({ name: `${method} grad no_mm`, request: { method, form: 'grad', target: 'no_mm', inputs: { p1, p2 } } });
  cases.push({ name: `${method} grad mm`, request: { method, form: 'grad', target: 'mm', inputs: { p1, p2, p1m, p2m } } });
}
for (const method of ['unigrad', 'simsiam', 'byol']) {
  cases.push({ name: `${method} grad mm with state`, request: { method, form: 'grad', target: 'mm', inputs: { p1, p2, p1m, p2m }, state: { F }, hyper: { rho: 0.9 } } });
}
cases.push({ name: 'moco grad mm with queue', request: { method: 'moco', form: 'grad', target: 'mm', inputs: { p1, p2, p1m, p2m }, state: { queue } } });
cases.push({ name: 'moco original mm with queue', request: { method: 'moco', form: 'original', target: 'mm', inputs: { p1, p2, p1m, p2m }, state: { queue } } });
cases.push({ name: 'simclr original', request: { method: 'simclr', form: 'original', target: 'none', inputs: { p1, p2 }, hyper: { tau: 0.5 } } });
cases.push({ name: 'simsiam original', request: { method: 'simsiam', form: 'original', target: 'none', inputs: { p1, p2, q1, q2 } } });
cases.push({ name: 'byol original mm', request: { method: 'byol', form: 'original', target: 'mm', inputs: { p1, p2, p1m, p2m, q1, q2 } } });
cases.push({ name: 'byol original no_mm', request: { method: 'byol', form: 'original', target: 'no_mm', inputs: { p1, p2, q1, q2 } } });
cases.push({ name: 'vicreg original', request: { method: 'vicreg', form: 'original', target: 'none', inputs: { p1, p2 } } });
cases.push({ name: 'barlow_twins original', request: { method: 'barlow_twins', form: 'original', target: 'none', inputs: { p1, p2 } } });

const errors: { name: string; request: unknown; message: RegExp }[] = [
  { name: 'unknown method', request: { method: 'swav', form: 'grad', target: 'mm', inputs: { p1, p2, p1m, p2m } }, message: /unknown method "swav"; valid methods: moco, simclr/ },
  { name: 'shape mismatch', request: { method: 'unigrad', form: 'grad', target: 'mm', inputs: { p1, p2: p2.slice(1), p1m, p2m } }, message: /shape mismatch: inputs.p2 is 3×5 but inputs.p1 is 4×5/ },
  { name: 'missing target input', request: { method: 'simclr', form: 'grad', target: 'mm', inputs: { p1, p2 } }, message: /p1m is missing/ },
  { name: 'missing predictor input', request: { method: 'byol', form: 'original', target: 'mm', inputs: { p1, p2, p1m, p2m } }, message: /q1 is missing/ },
  { name: 'missing p2', request: { method: 'vicreg', form: 'original', target: 'none', inputs: { p1 } }, message: /inputs.p2 is missing/ },
  { name: 'invalid JSON', request: '{"method": "unigrad", ', message: /invalid JSON request/ },
  { name: 'unigrad has no original', request: { method: 'unigrad', form: 'original', target: 'mm', inputs: { p1, p2, p1m, p2m } }, message: /no original loss/ },
  { name: 'gradient form without a target mode', request: { method: 'unigrad', form: 'grad', target: 'none', inputs: { p1, p2 } }, message: /needs request.target "mm"/ },
  { name: 'wrong F shape', request: { method: 'unigrad', form: 'grad', target: 'no_mm', inputs: { p1, p2 }, state: { F: [[1]] } }, message: /state.F must be 5×5/ },
  { name: 'misspelt hyper', request: { method: 'unigrad', form: 'grad', target: 'no_mm', inputs: { p1, p2 }, hyper: { lambd: 5 } }, message: /hyper.lambd is not a known field/ },
];

// Spawning costs ~1.5 s of CPU each, so the CLI's error path (stderr, exit code, empty stdout) is exercised on
// these; the remaining error cases go through runProbe in-process.
const SPAWNED_ERRORS = ['unknown method', 'shape mismatch', 'missing target input', 'invalid JSON'];

let results: Result[] = [];
let errorResults: Result[] = [];

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
  const spawnedErrors = errors.filter((e) => SPAWNED_ERRORS.includes(e.name));
  const all = await probeAll([...cases.map((c) => c.request), ...spawnedErrors.map((e) => e.request)]);
  results = all.slice(0, cases.length);
  errorResults = all.slice(cases.length);
}, 600_000);

const responseOf = (i: number) => JSON.parse(results[i].stdout) as Record<string, unknown>;
const find = (name: string) => cases.findIndex((c) => c.name === name);

describe('loss-probe CLI', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))('answers %s with one JSON line equal to the library result', (_name, i) => {
    const r = results[i];
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const response = responseOf(i);
    const expected = runProbe(JSON.stringify(cases[i].request));
    expect(Object.keys(response).sort()).toEqual(Object.keys(expected).sort());
    expect(response).toEqual(expected);
    for (const key of ['grad_p1', 'grad_p2']) expect(response[key]).toHaveLength(N);
  });

  it.each(SPAWNED_ERRORS.map((name, i) => [name, i] as const))('rejects a bad request with a message on stderr, nothing on stdout: %s', (name, i) => {
    const r = errorResults[i];
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch((errors.find((e) => e.name === name) as (typeof errors)[number]).message);
  });

  it.each(errors.map((e) => [e.name, e] as const))('runProbe rejects: %s', (_name, e) => {
    expect(() => runProbe(typeof e.request === 'string' ? e.request : JSON.stringify(e.request))).toThrow(e.message);
  });
});

describe('loss-probe answers against independent float64 references', () => {
  const [z1, z2, t1, t2] = [p1, p2, p1m, p2m].map(normalizeRowsJs);

  it('byol grad mm with state: F update and the DirectPred gradient', () => {
    const r = responseOf(find('byol grad mm with state'));
    const Fnew = F.map((row, a) => row.map((v, b) => 0.9 * v + 0.1 * correlationJs(t1, t2)[a][b]));
    expect(maxRelativeError((r.state as { F: Mat }).F, Fnew)).toBeLessThan(1e-5);
    expect(maxRelativeError(r.grad_p1 as Mat, gradThroughNormalisation(p1, directPredJs(Fnew, z1, t2, 0.3)))).toBeLessThan(5e-4);
    expect(maxRelativeError(r.grad_p2 as Mat, gradThroughNormalisation(p2, directPredJs(Fnew, z2, t1, 0.3)))).toBeLessThan(5e-4);
    expect(Math.abs(r.value as number)).toBeLessThan(1e-6);
  });

  it('unigrad grad mm first step: G = −z2m + λ z1 F with F = T', () => {
    const r = responseOf(find('unigrad grad mm'));
    const T = correlationJs(t1, t2);
    const G = (z: Mat, pos: Mat) => z.map((zi, i) => zi.map((_, k) => -pos[i][k] + 100 * zi.reduce((s, v, j) => s + v * T[j][k], 0)));
    expect(maxRelativeError(r.grad_p1 as Mat, gradThroughNormalisation(p1, G(z1, t2)))).toBeLessThan(1e-4);
    expect(maxRelativeError(r.grad_p2 as Mat, gradThroughNormalisation(p2, G(z2, t1)))).toBeLessThan(1e-4);
  });

  it('moco queue order and original values by explicit loops', () => {
    const r = responseOf(find('moco grad mm with queue'));
    expect(maxRelativeError((r.state as { queue: Mat }).queue, [...queue.slice(2 * N), ...t1, ...t2])).toBeLessThan(1e-6);
    expect(responseOf(find('moco original mm with queue')).value).toBeCloseTo(mocoInfoNceJs(p1, p2, p1m, p2m, queue, 0.2), 4);
    // Original MoCo without a momentum encoder: keys are the stop-gradient online outputs.
    const noMm = runProbe(JSON.stringify({ method: 'moco', form: 'original', target: 'no_mm', inputs: { p1, p2 }, state: { queue } }));
    expect(noMm.value).toBeCloseTo(mocoInfoNceJs(p1, p2, p1, p2, queue, 0.2), 4);
  });

  it('original losses by explicit loops', () => {
    expect(responseOf(find('simclr original')).value).toBeCloseTo(ntXentJs(p1, p2, 0.5), 4);
    expect(responseOf(find('simsiam original')).value).toBeCloseTo(predictorCosineJs(q1, q2, p1, p2), 5);
    // BYOL at its published scale Σ(2 − 2cos) = 4 + 4 × the SimSiam-scaled value (spec §5).
    expect(responseOf(find('byol original mm')).value).toBeCloseTo(4 + 4 * predictorCosineJs(q1, q2, p1m, p2m), 4);
    expect(responseOf(find('byol original no_mm')).value).toBeCloseTo(4 + 4 * predictorCosineJs(q1, q2, p1, p2), 4);
    expect(responseOf(find('vicreg original')).value).toBeCloseTo(vicregJs(p1, p2), 3);
    expect(responseOf(find('barlow_twins original')).value).toBeCloseTo(barlowTwinsJs(p1, p2, 0.0051), 4);
    expect(responseOf(find('byol original mm')).grad_q1).toHaveLength(N);
  });
});
