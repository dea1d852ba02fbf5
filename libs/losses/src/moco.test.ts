import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferenceGrad, maxRelativeError, mocoInfoNceJs, normalizeRowsJs, randomMatrix, type Mat } from './js-reference';
import { METHODS } from './registry';
import { randomInputs, run } from './test-support';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

describe('moco', () => {
  const x = randomInputs(4, 5, 31);
  const queue = normalizeRowsJs(randomMatrix(10, 5, new Rng(32)));

  it('original: value and gradients match explicit-loop InfoNCE with the queue', () => {
    const out = run('moco', 'original', 'mm', x, { queue });
    const f = (p1: Mat, p2: Mat) => mocoInfoNceJs(p1, p2, x.p1m, x.p2m, queue, 0.2);
    expect(out.value).toBeCloseTo(f(x.p1, x.p2), 4);
    expect(maxRelativeError(out.grads.p1 as Mat, finiteDifferenceGrad((p) => f(p, x.p2), x.p1))).toBeLessThan(1e-4);
    expect(maxRelativeError(out.grads.p2 as Mat, finiteDifferenceGrad((p) => f(x.p1, p), x.p2))).toBeLessThan(1e-4);
  });

  it('gradient form over {positive} ∪ queue has the same gradient as the original InfoNCE (spec §4.1)', () => {
    const grad = run('moco', 'grad', 'mm', x, { queue }, { tau: 0.3 });
    const orig = run('moco', 'original', 'mm', x, { queue }, { tau: 0.3 });
    expect(maxRelativeError(grad.grads.p1 as Mat, orig.grads.p1 as Mat)).toBeLessThan(1e-4);
    expect(maxRelativeError(grad.grads.p2 as Mat, orig.grads.p2 as Mat)).toBeLessThan(1e-4);
    expect(Math.abs(grad.value - orig.value)).toBeGreaterThan(1e-3); // the surrogate is not the loss
  });

  it('queue update drops the 2n oldest rows and appends z1m then z2m', () => {
    const out = run('moco', 'grad', 'mm', x, { queue });
    const expected = [...queue.slice(8), ...normalizeRowsJs(x.p1m), ...normalizeRowsJs(x.p2m)];
    expect(out.state.queue).toHaveLength(10);
    expect(maxRelativeError(out.state.queue as Mat, expected)).toBeLessThan(1e-6);
    const orig = run('moco', 'original', 'mm', x, { queue });
    expect(maxRelativeError(orig.state.queue as Mat, expected)).toBeLessThan(1e-6);
  });

  it('without a queue it starts empty and fills up to queueSize', () => {
    const first = run('moco', 'grad', 'mm', x, {}, { queueSize: 12 });
    expect(first.value).toBeCloseTo(0, 6); // only the positive: softmax weight 1, G = 0
    expect(first.state.queue).toHaveLength(8);
    const second = run('moco', 'grad', 'mm', x, { queue: first.state.queue }, { queueSize: 12 });
    expect(second.state.queue).toHaveLength(12);
    expect(maxRelativeError((second.state.queue as Mat).slice(0, 4), normalizeRowsJs(x.p2m))).toBeLessThan(1e-6);
  });

  it('no_mm keys are the stop-gradient online embeddings (equals mm with p*m = p*)', () => {
    const a = run('moco', 'grad', 'no_mm', { p1: x.p1, p2: x.p2 }, { queue });
    const b = run('moco', 'grad', 'mm', { p1: x.p1, p2: x.p2, p1m: x.p1, p2m: x.p2 }, { queue });
    expect(maxRelativeError(a.grads.p1 as Mat, b.grads.p1 as Mat)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.state.queue as Mat, b.state.queue as Mat)).toBeLessThan(1e-6);
  });

  it('initialState: seeded random unit rows of queueSize', () => {
    const a = METHODS.moco.initialState(6, { queueSize: 7 }, new Rng(5));
    const b = METHODS.moco.initialState(6, { queueSize: 7 }, new Rng(5));
    const rowsA = (a.queue as tf.Tensor2D).arraySync();
    expect(rowsA).toHaveLength(7);
    expect(rowsA.every((r) => Math.abs(Math.hypot(...r) - 1) < 1e-6)).toBe(true);
    expect(rowsA).toEqual((b.queue as tf.Tensor2D).arraySync());
    tf.dispose([a.queue as tf.Tensor, b.queue as tf.Tensor]);
    expect(() => run('moco', 'grad', 'mm', x, { queue: [[1, 0]] })).toThrow(/state.queue must be K×5/);
  });
});
