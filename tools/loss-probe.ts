// loss-probe: evaluate one loss of @unigrad/losses on given embeddings, for outside checks.
//   npm run --silent loss-probe < request.json > response.json
// Request:  { method, form: grad|original, target: mm|no_mm|none, inputs: {p1, p2, p1m?, p2m?, q1?, q2?},
//             state?: {F} | {queue}, hyper?: {lambda, rho, eps, tau, wholeBatchSize, simCoeff, stdCoeff, covCoeff, queueSize} }
// Response: { value, posSim, grad_p1, grad_p2, grad_q1?, grad_q2?, state? }, grad_* = d value / d input (float32).
// Original forms: target `none`/`mm` pass the inputs through; `no_mm` makes MoCo/BYOL use the stop-gradient
// online outputs as targets (spec §6.2). A bad request prints a message on stderr, nothing on stdout, exit 2.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@unigrad/core';
import { parseCli } from '@unigrad/configs';
import { evaluateWithInputGradients, getMethod, type Hyper, type LossInputs, type MethodState } from '@unigrad/losses';

export class ProbeRequestError extends Error {}

const INPUT_KEYS = ['p1', 'p2', 'p1m', 'p2m', 'q1', 'q2'] as const;
const STATE_KEYS = ['F', 'queue'] as const;
const HYPER_KEYS = ['lambda', 'rho', 'eps', 'tau', 'wholeBatchSize', 'simCoeff', 'stdCoeff', 'covCoeff', 'queueSize'] as const;
type Matrix = number[][];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function rejectUnknown(where: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ProbeRequestError(`${where}.${key} is not a known field; allowed: ${allowed.join(', ')}`);
  }
}

function matrix(where: string, x: unknown): Matrix {
  if (!Array.isArray(x) || x.length === 0 || !Array.isArray(x[0])) throw new ProbeRequestError(`${where} must be a non-empty array of rows (N×D numbers)`);
  const cols = (x[0] as unknown[]).length;
  x.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) throw new ProbeRequestError(`${where} is not rectangular: row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries, row 0 has ${cols}`);
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProbeRequestError(`${where}[${i}][${j}] must be a finite number, got ${JSON.stringify(v)}`);
    });
  });
  return x as Matrix;
}

const shapeOf = (m: Matrix) => `${m.length}×${m[0].length}`;

/** Evaluates one request (already-initialised backend) and returns the response object. Throws on bad requests. */
export function runProbe(requestText: string): Record<string, unknown> {
  let request: unknown;
  try {
    request = JSON.parse(requestText);
  } catch (err) {
    throw new ProbeRequestError(`invalid JSON request: ${(err as Error).message}`);
  }
  if (!isObject(request)) throw new ProbeRequestError('the request must be a JSON object {method, form, target, inputs, state?, hyper?}');
  rejectUnknown('request', request, ['method', 'form', 'target', 'inputs', 'state', 'hyper']);
  if (typeof request.method !== 'string') throw new ProbeRequestError('request.method is missing (one of moco, simclr, simsiam, byol, vicreg, barlow_twins, unigrad)');
  const method = getMethod(request.method);
  const form = request.form;
  if (form !== 'grad' && form !== 'original') throw new ProbeRequestError(`request.form must be "grad" or "original", got ${JSON.stringify(form)}`);
  const target = request.target ?? (form === 'original' ? 'none' : undefined);
  if (target !== 'mm' && target !== 'no_mm' && target !== 'none') throw new ProbeRequestError(`request.target must be "mm", "no_mm" or "none", got ${JSON.stringify(target)}`);
  if (form === 'grad' && target === 'none') throw new ProbeRequestError('a gradient form needs request.target "mm" (momentum-encoder targets p1m, p2m) or "no_mm" (stop-gradient online targets)');

  if (!isObject(request.inputs)) throw new ProbeRequestError('request.inputs must be an object {p1, p2, p1m?, p2m?, q1?, q2?}');
  rejectUnknown('inputs', request.inputs, INPUT_KEYS);
  const arrays: Partial<Record<(typeof INPUT_KEYS)[number], Matrix>> = {};
  for (const key of INPUT_KEYS) if (request.inputs[key] !== undefined) arrays[key] = matrix(`inputs.${key}`, request.inputs[key]);
  if (!arrays.p1 || !arrays.p2) throw new ProbeRequestError(`inputs.${arrays.p1 ? 'p2' : 'p1'} is missing; every request needs the online outputs p1 and p2`);
  for (const [key, m] of Object.entries(arrays)) {
    if (m.length !== arrays.p1.length || m[0].length !== arrays.p1[0].length) {
      throw new ProbeRequestError(`shape mismatch: inputs.${key} is ${shapeOf(m)} but inputs.p1 is ${shapeOf(arrays.p1)}; all inputs must be N×D`);
    }
  }
  // Original MoCo/BYOL without a momentum encoder: the targets are the stop-gradient online outputs.
  if (form === 'original' && target === 'no_mm' && method.originalNeeds.target === 'ema') {
    arrays.p1m = arrays.p1;
    arrays.p2m = arrays.p2;
  }

  const state: { F?: Matrix; queue?: Matrix } = {};
  if (request.state !== undefined && request.state !== null) {
    if (!isObject(request.state)) throw new ProbeRequestError('request.state must be an object {F} or {queue}');
    rejectUnknown('state', request.state, STATE_KEYS);
    if (request.state.F !== undefined) state.F = matrix('state.F', request.state.F);
    if (request.state.queue !== undefined) state.queue = matrix('state.queue', request.state.queue);
  }
  const hyper: Hyper = {};
  if (request.hyper !== undefined && request.hyper !== null) {
    if (!isObject(request.hyper)) throw new ProbeRequestError('request.hyper must be an object');
    rejectUnknown('hyper', request.hyper, HYPER_KEYS);
    for (const key of HYPER_KEYS) {
      const v = request.hyper[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProbeRequestError(`hyper.${key} must be a finite number, got ${JSON.stringify(v)}`);
      hyper[key] = v;
    }
  }

  const toTensor = (m: Matrix | undefined) => (m ? tf.tensor2d(m, undefined, 'float32') : undefined);
  const inputs = Object.fromEntries(Object.entries(arrays).map(([k, m]) => [k, toTensor(m)])) as unknown as LossInputs;
  const stateTensors: MethodState = { F: toTensor(state.F), queue: toTensor(state.queue) };
  try {
    const out = evaluateWithInputGradients(method, form, target === 'none' ? 'mm' : target, inputs, stateTensors, hyper);
    const finite = [out.value, out.posSim, ...Object.values(out.grads).flat(2), ...Object.values(out.state).flat(2)].every(Number.isFinite);
    if (!finite) throw new Error(`${method.name}: the result is not finite (NaN or ±Infinity); check the inputs (e.g. all-zero rows)`);
    const response: Record<string, unknown> = { value: out.value, posSim: out.posSim, grad_p1: out.grads.p1, grad_p2: out.grads.p2 };
    if (out.grads.q1) response.grad_q1 = out.grads.q1;
    if (out.grads.q2) response.grad_q2 = out.grads.q2;
    if (out.state.F || out.state.queue) response.state = out.state;
    return response;
  } finally {
    tf.dispose([...Object.values(inputs), ...Object.values(stateTensors)].filter((t): t is tf.Tensor2D => t instanceof tf.Tensor));
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  try {
    parseCli(process.argv.slice(2), {
      usage: 'npm run --silent loss-probe < request.json > response.json',
      summary: 'Evaluates one loss of @unigrad/losses on the embeddings of a JSON request (see the top of tools/loss-probe.ts): value, positive similarity, input gradients, next state.',
      flags: {},
      exitCodes: { 2: 'bad request or usage (message on stderr, nothing on stdout)' },
    });
  } catch (err) {
    process.stderr.write(`loss-probe: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  // stdout carries the response and nothing else: route any stray log line to stderr.
  console.log = (...args: unknown[]) => console.error(...args);
  try {
    const text = await readStdin();
    await initBackend({ force: 'cpu', log: false });
    const response = runProbe(text);
    process.stdout.write(`${JSON.stringify(response)}\n`);
  } catch (err) {
    process.stderr.write(`loss-probe: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (require.main === module) void main();
