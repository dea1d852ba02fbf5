import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SiameseNet, type SiameseConfig } from './siamese';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

const small: SiameseConfig = {
  trunk: { kind: 'convnet', inChannels: 1, widths: [8, 16] },
  projector: { hiddenDim: 32, outputDim: 16 },
  momentum: true,
};

const nets: SiameseNet[] = [];
function make(config: SiameseConfig, seed = 0): SiameseNet {
  const net = new SiameseNet(config, new Rng(seed));
  nets.push(net);
  return net;
}
afterEach(() => {
  nets.splice(0).forEach((n) => n.dispose());
});

function images(n: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([n, 12, 12, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
}

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('SiameseNet', () => {
  it('names parameters with the official prefixes; the target starts equal in separate, non-trainable variables', () => {
    const net = make({ ...small, predictor: { hiddenDim: 8 } });
    const online = net.onlineParams();
    const target = net.targetParams();
    expect([...online.keys()].filter((k) => k.startsWith('encoder.'))).toHaveLength(6);
    expect(online.has('projector.6.bias')).toBe(true);
    expect(online.has('predictor.3.bias')).toBe(true);
    expect([...target.keys()]).toEqual(
      [...online.keys()].filter((k) => !k.startsWith('predictor.')).map((k) => 'momentum_' + k),
    );
    for (const [k, t] of target) {
      const o = online.get(k.slice('momentum_'.length))!;
      expect(t).not.toBe(o);
      expect(arr(t)).toEqual(arr(o));
      expect(t.trainable).toBe(false);
      expect(o.trainable).toBe(true);
    }
    const all = Object.keys(net.allTensorsForCheckpoint());
    expect(all).toContain('momentum_encoder.bn1.running_var');
    expect(all).toContain('projector.4.running_mean');
    expect(net.hasTarget).toBe(true);
  });

  it('updateTarget applies θt ← m·θt + (1 − m)·θo to parameters only, leaving target buffers untouched', () => {
    const net = make(small);
    // Move the online network away from the target: a train-mode forward changes the online BN buffers, and
    // we shift every online parameter.
    tf.tidy(() => net.forwardOnline(images(6, 1), 'train'));
    for (const v of net.onlineParams().values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', 5))));
    const before = new Map(Object.entries(net.allTensorsForCheckpoint()).map(([k, v]) => [k, arr(v)]));
    net.updateTarget(0.9);
    const after = net.allTensorsForCheckpoint();
    let checked = 0;
    for (const [k, v] of Object.entries(after)) {
      if (!k.startsWith('momentum_')) {
        expect(arr(v)).toEqual(before.get(k)); // online untouched
        continue;
      }
      const isBuffer = k.endsWith('running_mean') || k.endsWith('running_var');
      const t0 = before.get(k)!;
      const o = before.get(k.slice('momentum_'.length))!;
      if (isBuffer) {
        expect(arr(v)).toEqual(t0);
        expect(o).not.toEqual(t0); // the online buffers did move, so "untouched" is a real check
      } else {
        const got = arr(v);
        got.forEach((g, i) => expect(g).toBeCloseTo(0.9 * t0[i] + 0.1 * o[i], 6));
        checked++;
      }
    }
    expect(checked).toBe(net.targetParams().size);
    // m = 0 copies the online parameters.
    net.updateTarget(0);
    for (const [k, t] of net.targetParams()) expect(arr(t)).toEqual(arr(net.onlineParams().get(k.slice(9))!));
    expect(() => net.updateTarget(1.5)).toThrow(/momentum must be in \[0, 1\]/);
  });

  it('forwardTarget runs the EMA branch in train mode (batch statistics, own buffers updated)', () => {
    const net = make(small);
    const x = images(5, 2);
    const rm = net.allTensorsForCheckpoint()['momentum_encoder.bn1.running_mean'];
    const z = net.forwardTarget(x);
    expect(z.shape).toEqual([5, 16]);
    expect(arr(rm).some((v) => v !== 0)).toBe(true);
    // Identical weights and train-mode BN: the online train-mode projection equals the target output.
    const { projection, p } = net.forwardOnline(x, 'train');
    expect(p).toBe(projection);
    expect(tf.max(tf.abs(tf.sub(projection, z))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('keeps no momentum copy when momentum is false', () => {
    const before = tf.memory().numTensors;
    make(small);
    const withCount = tf.memory().numTensors - before;
    const noTarget = make({ ...small, momentum: false });
    const noCount = tf.memory().numTensors - before - withCount;
    expect(noCount * 2).toBe(withCount);
    expect(noTarget.hasTarget).toBe(false);
    expect(noTarget.momentumEncoder).toBeNull();
    expect(noTarget.targetParams().size).toBe(0);
    expect(Object.keys(noTarget.allTensorsForCheckpoint()).some((k) => k.startsWith('momentum_'))).toBe(false);
    expect(() => noTarget.forwardTarget(images(2, 0))).toThrow(/no momentum encoder.*§6\.2/);
    expect(() => noTarget.updateTarget(0.99)).toThrow(/no momentum encoder/);
  });

  it('is deterministic for a seed', () => {
    const a = make(small, 7);
    const b = make(small, 7);
    const c = make(small, 8);
    const ta = a.allTensorsForCheckpoint();
    const tb = b.allTensorsForCheckpoint();
    for (const k of Object.keys(ta)) expect(arr(tb[k])).toEqual(arr(ta[k]));
    expect(arr(c.onlineParams().get('encoder.conv2.weight')!)).not.toEqual(arr(ta['encoder.conv2.weight']));
  });

  it('a train-mode step through tf.variableGrads gives a finite gradient for every online parameter', () => {
    // The default convnet; small 8x8 images because the cpu backend's conv filter gradient is slow.
    const net = make({ ...small, trunk: { kind: 'convnet', inChannels: 1 }, predictor: { hiddenDim: 8 } });
    const x1 = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3);
    const x2 = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 4);
    const params = net.onlineParams();
    net.updateTarget(0.99);
    const z2m = net.forwardTarget(x2); // outside the tape: a constant
    const { value, grads } = tf.variableGrads(() => {
      const { p } = net.forwardOnline(x1, 'train');
      const z1 = tf.div(p, tf.norm(p, 2, 1, true));
      return tf.neg(tf.mean(tf.sum(tf.mul(z1, z2m), 1))) as tf.Scalar;
    }, [...params.values()]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const byVar = new Map(Object.entries(grads));
    expect(byVar.size).toBe(params.size);
    let nonZero = 0;
    for (const v of params.values()) {
      const g = byVar.get(v.name)!;
      expect(g.shape).toEqual(v.shape);
      expect(arr(g).every(Number.isFinite)).toBe(true);
      if (arr(g).some((e) => e !== 0)) nonZero++;
    }
    expect(nonZero).toBe(params.size);
    // Target variables are non-trainable and unconnected to the online ones: with no varList, variableGrads
    // finds no trainable variable behind the target output.
    expect(() => tf.variableGrads(() => tf.sum(net.forwardTarget(x2)) as tf.Scalar)).toThrow(/Cannot find a connection/);
  });

  it('keeps the number of live tensors constant across repeated steps', () => {
    const net = make({ ...small, predictor: { hiddenDim: 8 } });
    const params = [...net.onlineParams().values()];
    const step = (seed: number) =>
      tf.tidy(() => {
        net.updateTarget(0.99);
        const z2m = net.forwardTarget(images(6, seed));
        const { value, grads } = tf.variableGrads(() => {
          const { p } = net.forwardOnline(images(6, seed + 1), 'train');
          return tf.mean(tf.sum(tf.mul(p, z2m), 1)) as tf.Scalar;
        }, params);
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        net.forwardOnline(images(3, seed + 2), 'eval');
      });
    step(0);
    const baseline = tf.memory().numTensors;
    for (let i = 1; i <= 5; i++) {
      step(i * 10);
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });

  it('round-trips through allTensorsForCheckpoint / loadFromCheckpoint and rejects mismatches', () => {
    const a = make(small, 1);
    const b = make(small, 2);
    tf.tidy(() => a.forwardOnline(images(4, 9), 'train')); // non-default buffers
    b.loadFromCheckpoint(a.allTensorsForCheckpoint());
    const ta = a.allTensorsForCheckpoint();
    for (const [k, v] of Object.entries(b.allTensorsForCheckpoint())) expect(arr(v)).toEqual(arr(ta[k]));

    const partial: Record<string, tf.Tensor> = { ...ta };
    delete partial['encoder.conv1.weight'];
    partial['encoder.fc.weight'] = tf.zeros([2]);
    expect(() => b.loadFromCheckpoint(partial)).toThrow(/missing 1 key\(s\): encoder\.conv1\.weight; unexpected 1 key\(s\): encoder\.fc\.weight/);
    const wrongShape = { ...ta, 'projector.6.bias': { shape: [3], dtype: 'float32', data: new Float32Array(3) } };
    expect(() => b.loadFromCheckpoint(wrongShape)).toThrow(/'projector\.6\.bias' has shape \[3\], the network expects \[16\]/);
    const noMm = make({ ...small, momentum: false });
    expect(() => noMm.loadFromCheckpoint(ta)).toThrow(/unexpected .*momentum_encoder/);
  });
});
