import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import { SGD } from './sgd';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

function expectClose(actual: ArrayLike<number>, expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, digits));
}

describe('SGD (PyTorch semantics)', () => {
  it('matches a hand computation over 3 steps with momentum 0.9 and weight decay 0.01', () => {
    const theta = tf.variable(tf.tensor1d([1, -2]));
    const params = new Map<string, tf.Variable>([['w', theta]]);
    const opt = new SGD({ momentum: 0.9, weightDecay: 0.01 });
    const grads = [
      [0.5, 1],
      [-1, 0.25],
      [2, -0.5],
    ];
    const lrs = [0.1, 0.05, 0.2];
    // Step 1: d = g + 0.01θ = [0.51, 0.98]; buf = d; θ = [1 − 0.051, −2 − 0.098].
    // Step 2: d = [−0.99051, 0.22902]; buf = 0.9·[0.51, 0.98] + d = [−0.53151, 1.11102]; θ −= 0.05·buf.
    // Step 3: d = [2.009755755, −0.521535510]; buf = 0.9·buf + d = [1.531396755, 0.47838249]; θ −= 0.2·buf.
    const expectedTheta = [
      [0.949, -2.098],
      [0.9755755, -2.153551],
      [0.669296149, -2.249227498],
    ];
    const expectedBuf = [
      [0.51, 0.98],
      [-0.53151, 1.11102],
      [1.531396755, 0.47838249],
    ];
    for (let s = 0; s < 3; s++) {
      const g = tf.tensor1d(grads[s]);
      opt.step(params, { w: g }, lrs[s]);
      g.dispose();
      expectClose(theta.dataSync(), expectedTheta[s]);
      expectClose(opt.state().w.dataSync(), expectedBuf[s]);
    }
    expect(opt.stepCount).toBe(3);
    opt.dispose();
    theta.dispose();
  });

  it('skips parameters without a gradient and rejects unknown or mis-shaped gradients', () => {
    const a = tf.variable(tf.tensor1d([1, 1]));
    const b = tf.variable(tf.tensor1d([5]));
    const params = new Map<string, tf.Variable>([
      ['a', a],
      ['b', b],
    ]);
    const opt = new SGD({ momentum: 0.9, weightDecay: 0.1 });
    const g = tf.tensor1d([1, 2]);
    opt.step(params, new Map([['a', g]]), 0.5);
    expect(Array.from(b.dataSync())).toEqual([5]);
    expect(Object.keys(opt.state())).toEqual(['a']);
    expect(() => opt.step(params, { c: g }, 0.1)).toThrow(/'c' has no matching parameter/);
    expect(() => opt.step(params, { b: g }, 0.1)).toThrow(/shape \[2\].*\[1\]/);
    expect(() => opt.step(params, { a: g }, Number.NaN)).toThrow(/learning rate/);
    tf.dispose([a, b, g]);
    opt.dispose();
  });

  it('keeps the live tensor count constant across steps', () => {
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.randomNormal([8, 4]))],
      ['b', tf.variable(tf.zeros([4]))],
    ]);
    const opt = new SGD({ momentum: 0.9, weightDecay: 1e-4 });
    const grads = { w: tf.randomNormal([8, 4]), b: tf.randomNormal([4]) };
    opt.step(params, grads, 0.1);
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) opt.step(params, grads, 0.1);
    expect(tf.memory().numTensors).toBe(after1);
    opt.dispose();
    tf.dispose([...params.values(), grads.w, grads.b]);
  });

  it('resumes exactly from its saved slots and step count', () => {
    const run = (split: boolean): Float32Array => {
      const w = tf.variable(tf.tensor1d([0.3, -0.7, 1.1]));
      const params = new Map<string, tf.Variable>([['w', w]]);
      let opt = new SGD({ momentum: 0.9, weightDecay: 0.05 });
      for (let s = 0; s < 6; s++) {
        if (split && s === 3) {
          const saved = Object.fromEntries(Object.entries(opt.state()).map(([k, t]) => [k, tf.tensor(t.dataSync(), t.shape)]));
          const count = opt.stepCount;
          opt.dispose();
          opt = new SGD({ momentum: 0.9, weightDecay: 0.05 });
          opt.loadState(saved, count);
          tf.dispose(Object.values(saved));
          expect(opt.stepCount).toBe(3);
        }
        const g = tf.tensor1d([Math.sin(s), Math.cos(s), s / 10]);
        opt.step(params, { w: g }, 0.1);
        g.dispose();
      }
      const out = w.dataSync() as Float32Array;
      opt.dispose();
      w.dispose();
      return out;
    };
    expect(Array.from(run(true))).toEqual(Array.from(run(false)));
  });
});
