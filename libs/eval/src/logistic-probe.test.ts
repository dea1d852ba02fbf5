import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@unigrad/core';
import type { FeatureSet } from './batches';
import { logisticScores } from './logistic';
import {
  LogisticProbeOptions,
  evaluateLogisticProbe,
  fitLogisticProbe,
  reexpress,
  selectLogisticProbe,
  splitValidation,
} from './logistic-probe';
import { fitStandardizer } from './standardize';
import { trainLinearProbeOnFeatures } from './probe';
import { clusters, noise } from './test-networks';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

// Six overlapping classes in 4-d plus two pure-noise dimensions: not separable, so the L2 strength matters.
const CENTRES = [
  [2, 0, 0, 0, 0, 0],
  [0, 2, 0, 0, 0, 0],
  [0, 0, 2, 0, 0, 0],
  [0, 0, 0, 2, 0, 0],
  [-2, 0, 0, 0, 0, 0],
  [0, -2, 0, 0, 0, 0],
];
const train = clusters(CENTRES, 40, 2.2, 31);
const test = clusters(CENTRES, 20, 2.2, 32);
const OPTIONS: LogisticProbeOptions = { numClasses: 6, l2Grid: [0, 1e-3, 1e-2, 1e-1], seed: 5 };

/** x ↦ a_d·x + b_d per dimension, with scales from 1e-3 to 1e3 and offsets of up to ±10 scale units. */
function affine(set: FeatureSet): FeatureSet {
  const scales = [1e-3, 50, 0.2, 1e3, 3, 0.01];
  const offsets = [4, -7, 0.5, -10, 2, 9];
  return { ...set, features: set.features.map((v, i) => scales[i % set.dim] * (v + offsets[i % set.dim])) };
}

/** A FeatureSet whose every property read is appended to `log` as `${name}.${property}`. */
function recording(set: FeatureSet, name: string, log: string[]): FeatureSet {
  return new Proxy(set, {
    get(target, property, receiver) {
      log.push(`${name}.${String(property)}`);
      return Reflect.get(target, property, receiver);
    },
  });
}

const argmaxRows = (scores: Float32Array, numClasses: number): number[] =>
  Array.from({ length: scores.length / numClasses }, (_, r) => {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (scores[r * numClasses + c] > scores[r * numClasses + best]) best = c;
    return best;
  });

describe('splitValidation', () => {
  const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : i < 102 ? 2 : 3));

  it('splits every row into exactly one of two sorted, disjoint parts, stratified by class', () => {
    const { fit, validation } = splitValidation(labels, 4, 0.1, 1);
    const all = [...fit, ...validation].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(new Set([...fit]).size + new Set([...validation]).size).toBe(103);
    expect([...fit]).toEqual([...fit].sort((a, b) => a - b));
    expect([...validation]).toEqual([...validation].sort((a, b) => a - b));
    const perClass = [0, 1, 2, 3].map((c) => [...validation].filter((r) => labels[r] === c).length);
    expect(perClass).toEqual([6, 3, 1, 0]); // round(10 %), at least 1, and a class with one row stays in fit
  });

  it('is deterministic for a seed and depends on it', () => {
    const a = splitValidation(labels, 4, 0.2, 7);
    expect(splitValidation(labels, 4, 0.2, 7)).toEqual(a);
    expect([...splitValidation(labels, 4, 0.2, 8).validation]).not.toEqual([...a.validation]);
  });

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => splitValidation(labels, 4, 0, 0)).toThrow(/validationFraction/);
    expect(() => splitValidation(labels, 4, 1, 0)).toThrow(/validationFraction/);
  });
});

describe('fitLogisticProbe', () => {
  it('selects on validation, refits on all training rows, converges, and frees every tensor', () => {
    const before = tf.memory().numTensors;
    const r = fitLogisticProbe(train, test, OPTIONS);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.grid.map((g) => g.l2)).toEqual([0, 1e-3, 1e-2, 1e-1]);
    const best = Math.max(...r.grid.map((g) => g.validation.top1));
    const chosen = r.grid.find((g) => g.l2 === r.l2);
    expect(chosen?.validation.top1).toBe(best);
    expect(r.validation).toEqual(chosen?.validation);
    // Ties go to the strongest regularisation.
    expect(r.l2).toBe(Math.max(...r.grid.filter((g) => g.validation.top1 === best).map((g) => g.l2)));
    expect(r.converged).toBe(true);
    expect(r.grid.every((g) => g.converged)).toBe(true);
    expect(r.trainRows).toBe(240);
    expect(r.validationRows).toBe(24);
    expect(r.testRows).toBe(120);
    expect(r.test.top1).toBeGreaterThan(0.6);
    expect(r.test.top1).toBeLessThan(1);
    expect(r.test.top5).toBeGreaterThanOrEqual(r.test.top1);
  });

  it('is deterministic', () => {
    const a = fitLogisticProbe(train, test, OPTIONS);
    const b = fitLogisticProbe(train, test, OPTIONS);
    expect({ ...b, seconds: 0, grid: b.grid.map((g) => ({ ...g, seconds: 0 })) }).toEqual({
      ...a,
      seconds: 0,
      grid: a.grid.map((g) => ({ ...g, seconds: 0 })),
    });
  });

  it('reaches 100 % on a linearly separable set', () => {
    const far = [
      [8, 0, 0],
      [0, 8, 0],
      [0, 0, 8],
      [-8, -8, -8],
    ];
    const r = fitLogisticProbe(clusters(far, 30, 1, 41), clusters(far, 30, 1, 42), { numClasses: 4 });
    expect(r.test.top1).toBe(1);
    expect(r.validation?.top1).toBe(1);
  });

  it('reads nothing of the test set but its dim until the selection and the final refit are done', () => {
    const log: string[] = [];
    const r = fitLogisticProbe(train, recording(test, 'test', log), {
      ...OPTIONS,
      onFit: (e) => log.push(`fit:${e.phase}:${e.l2}`),
    });
    const final = log.indexOf(`fit:final:${r.l2}`);
    expect(log.filter((e) => e.startsWith('fit:select'))).toHaveLength(4);
    expect(log.slice(0, final).filter((e) => e.startsWith('test.'))).toEqual(['test.dim']);
    expect(log.slice(final)).toContain('test.features');
    expect(log.slice(final)).toContain('test.labels');
    expect(log.slice(final + 1).some((e) => e.startsWith('fit:'))).toBe(false);
  });

  it('selectLogisticProbe never needs a test set; evaluateLogisticProbe is the one place it is used', () => {
    const probe = selectLogisticProbe(train, OPTIONS);
    expect(evaluateLogisticProbe(probe, test)).toEqual(fitLogisticProbe(train, test, OPTIONS).test);
  });

  it('fits the selection models on the fit rows only: changing validation rows changes no fit, changing a fit row does', () => {
    const probe = selectLogisticProbe(train, OPTIONS);
    const split = probe.split;
    if (!split) throw new Error('expected a split');
    expect(split.validation.length).toBe(24);
    const perturb = (row: number): FeatureSet => {
      const features = Float32Array.from(train.features);
      for (let d = 0; d < train.dim; d++) features[row * train.dim + d] += 5;
      return { ...train, features };
    };
    const loss = (set: FeatureSet) => selectLogisticProbe(set, OPTIONS).grid.map((g) => g.trainLoss);
    const lossValidationChanged = loss(perturb(split.validation[3]));
    expect(lossValidationChanged).toEqual(probe.grid.map((g) => g.trainLoss));
    const lossFitChanged = loss(perturb(split.fit[3]));
    lossFitChanged.forEach((v, i) => expect(v).not.toBe(probe.grid[i].trainLoss));
  });

  it('takes the L2 strength from validation even when the test set would prefer another', () => {
    // Train (and so validation): class 0 (70 %) around x = −2, class 1 around x = +2; a weak penalty separates them
    // (≈ 97 % on validation), a huge one predicts the majority class everywhere (70 %). The test set holds only
    // class-0 points at x = +1.5, where only the majority-class model is right.
    const n = 200;
    const jitter = noise(3, 2 * n);
    const features = new Float32Array(2 * n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i < 140 ? 0 : 1;
      features[2 * i] = (labels[i] === 0 ? -2 : 2) + 1.6 * jitter[2 * i];
      features[2 * i + 1] = jitter[2 * i + 1];
    }
    const tr: FeatureSet = { features, labels, count: n, dim: 2 };
    const jt = noise(4, 100);
    const te: FeatureSet = {
      features: Float32Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1.5 + 0.1 * jt[i] : jt[i])),
      labels: new Int32Array(50),
      count: 50,
      dim: 2,
    };
    const grid = [1e-3, 100];
    const r = fitLogisticProbe(tr, te, { numClasses: 2, l2Grid: grid });
    const [weak, strong] = r.grid;
    expect(weak.validation.top1).toBeGreaterThan(0.9);
    expect(strong.validation.top1).toBeCloseTo(0.7, 5);
    expect(r.l2).toBe(1e-3);
    // What each strength would score on test: the test set disagrees with validation.
    const testOf = (l2: number) => evaluateLogisticProbe(selectLogisticProbe(tr, { numClasses: 2, l2Grid: [l2] }), te).top1;
    expect(testOf(100)).toBe(1);
    expect(testOf(1e-3)).toBe(0);
    expect(r.test.top1).toBe(0);
    // And a different test set changes nothing but the test number.
    const other = fitLogisticProbe(tr, { ...te, labels: new Int32Array(50).fill(1) }, { numClasses: 2, l2Grid: grid });
    expect(other.l2).toBe(r.l2);
    expect(other.grid.map((g) => g.validation)).toEqual(r.grid.map((g) => g.validation));
    expect(other.test.top1).toBe(1);
  });

  it('with standardisation, predictions and accuracies do not change when each feature is rescaled and shifted', () => {
    const a = selectLogisticProbe(train, OPTIONS);
    const b = selectLogisticProbe(affine(train), OPTIONS);
    expect(b.l2).toBe(a.l2);
    expect(b.grid.map((g) => g.validation)).toEqual(a.grid.map((g) => g.validation));
    expect(b.fit.trainLoss).toBeCloseTo(a.fit.trainLoss, 5);
    const sa = logisticScores(a.model, test, a.standardizer);
    const sb = logisticScores(b.model, affine(test), b.standardizer);
    sa.forEach((v, i) => expect(sb[i]).toBeCloseTo(v, 2));
    expect(argmaxRows(sb, 6)).toEqual(argmaxRows(sa, 6));
    expect(evaluateLogisticProbe(b, affine(test))).toEqual(evaluateLogisticProbe(a, test));
  });

  it('without standardisation the same rescaling changes the fit (the property above is not vacuous)', () => {
    const opts = { ...OPTIONS, standardize: false, l2Grid: [1e-2] };
    const a = selectLogisticProbe(train, opts);
    const b = selectLogisticProbe(affine(train), opts);
    expect(Math.abs(b.fit.trainLoss - a.fit.trainLoss)).toBeGreaterThan(0.01);
  });
});

describe('reexpress', () => {
  it('gives the same scores of the raw features under other standardisation statistics (or none)', () => {
    const probe = selectLogisticProbe(train, { ...OPTIONS, l2Grid: [1e-2] });
    const other = fitStandardizer(test);
    const reference = logisticScores(probe.model, test, probe.standardizer);
    const moved = logisticScores(reexpress(probe.model, probe.standardizer, other), test, other);
    const raw = logisticScores(reexpress(probe.model, probe.standardizer, null), test, null);
    reference.forEach((v, i) => {
      expect(moved[i]).toBeCloseTo(v, 4);
      expect(raw[i]).toBeCloseTo(v, 4);
    });
  });
});

describe('trainLinearProbeOnFeatures with standardize', () => {
  it('trains the same LARS head on rescaled and shifted features', async () => {
    const opts = { numClasses: 6, epochs: 4, batchSize: 32, baseLr: 1, trustCoefficient: 0.5, evalEvery: 2, seed: 3, standardize: true };
    const a = await trainLinearProbeOnFeatures(train, test, opts);
    const b = await trainLinearProbeOnFeatures(affine(train), affine(test), opts);
    b.trainLoss.forEach((v, i) => expect(v).toBeCloseTo(a.trainLoss[i], 4));
    expect(b.history).toEqual(a.history);
    const raw = await trainLinearProbeOnFeatures(affine(train), affine(test), { ...opts, standardize: false });
    expect(Math.abs(raw.trainLoss[3] - a.trainLoss[3])).toBeGreaterThan(0.01);
  });
});
