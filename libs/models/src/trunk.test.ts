import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@unigrad/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countElements } from './layers';
import type { Network } from './network';
import { createTrunk } from './trunk';

beforeAll(async () => {
  await initBackend({ force: 'cpu', log: false });
});

function values(net: Network, name: string): number[] {
  const v = net.params.get(name) ?? net.buffers.get(name);
  if (!v) throw new Error(`no variable ${name}`);
  return Array.from(v.dataSync());
}

describe('ResNet-50 trunk', () => {
  it("has torchvision's parameter count, names, zero-init residual γ and a 2048-d pooled output", () => {
    const net = createTrunk({ kind: 'resnet50' }, new Rng(0));
    try {
      // torchvision resnet50: 25,557,032 parameters, minus fc (2048·1000 + 1000).
      expect(countElements(net.params)).toBe(23_508_032);
      expect(net.outputDim).toBe(2048);
      expect(net.params.get('conv1.weight')!.shape).toEqual([7, 7, 3, 64]);
      expect(net.params.get('layer1.0.conv3.weight')!.shape).toEqual([1, 1, 64, 256]);
      // v1.5: the stride-2 3x3 conv sits in conv2 of the first block of layer2..4.
      expect(net.params.get('layer2.0.conv2.weight')!.shape).toEqual([3, 3, 128, 128]);
      expect(net.params.get('layer4.0.downsample.0.weight')!.shape).toEqual([1, 1, 1024, 2048]);
      expect(net.buffers.has('layer4.0.downsample.1.running_var')).toBe(true);
      expect(net.buffers.has('layer4.2.bn3.running_mean')).toBe(true);
      expect(net.params.has('fc.weight')).toBe(false);
      // 53 BatchNorms (1 stem + 16 blocks x 3 + 4 downsample), two buffers each.
      expect(net.buffers.size).toBe(2 * 53);
      const blocks = [3, 4, 6, 3].flatMap((n, l) => Array.from({ length: n }, (_, b) => `layer${l + 1}.${b}`));
      expect(blocks).toHaveLength(16);
      for (const b of blocks) {
        expect(values(net, `${b}.bn3.weight`).every((v) => v === 0)).toBe(true);
        expect(values(net, `${b}.bn2.weight`).every((v) => v === 1)).toBe(true);
        expect(values(net, `${b}.bn3.bias`).every((v) => v === 0)).toBe(true);
      }
      const y = net.apply(tf.zeros([1, 32, 32, 3]), 'eval');
      expect(y.shape).toEqual([1, 2048]);
      y.dispose();
    } finally {
      net.dispose();
    }
  });
});

describe('ResNet-18 trunk', () => {
  it("has torchvision's parameter count and a 512-d output; zeroInitResidual: false keeps γ = 1", () => {
    const net = createTrunk({ kind: 'resnet18', zeroInitResidual: false }, new Rng(0));
    try {
      // torchvision resnet18: 11,689,512 parameters, minus fc (512·1000 + 1000).
      expect(countElements(net.params)).toBe(11_176_512);
      expect(net.outputDim).toBe(512);
      expect(net.params.has('layer1.0.downsample.0.weight')).toBe(false);
      expect(net.params.get('layer3.0.downsample.0.weight')!.shape).toEqual([1, 1, 128, 256]);
      expect(values(net, 'layer2.1.bn2.weight').every((v) => v === 1)).toBe(true);
      const y = net.apply(tf.randomNormal([2, 32, 32, 3]), 'train');
      expect(y.shape).toEqual([2, 512]);
      y.dispose();
    } finally {
      net.dispose();
    }
  });

  it('narrow CIFAR-stem variant on 1-channel 28x28 input: 3x3/1 stem, no max-pool, dims follow widths', () => {
    const net = createTrunk({ kind: 'resnet18', stem: 'cifar', widths: [16, 32, 64, 128], inChannels: 1 }, new Rng(1));
    try {
      expect(net.params.get('conv1.weight')!.shape).toEqual([3, 3, 1, 16]);
      expect(values(net, 'layer4.1.bn2.weight').every((v) => v === 0)).toBe(true);
      expect(net.outputDim).toBe(128);
      const y = net.apply(tf.randomNormal([3, 28, 28, 1]), 'train');
      expect(y.shape).toEqual([3, 128]);
      // Post-ReLU average: non-negative everywhere.
      expect(y.min().dataSync()[0]).toBeGreaterThanOrEqual(0);
    } finally {
      net.dispose();
    }
  });

  it('total stride is 8 with the CIFAR stem and 32 with the ImageNet stem', () => {
    // Train-mode BN needs more than one value per channel, so with N = 1 a trunk fails exactly when some
    // feature map shrinks to 1x1: a 16x16 image ends at 2x2 (÷8) with the CIFAR stem but reaches 1x1 at
    // layer3 with the ImageNet stem (÷2 conv, ÷2 max-pool, ÷2 per later stage).
    const cifar = createTrunk({ kind: 'resnet18', stem: 'cifar', widths: [4, 4, 4, 4] }, new Rng(2));
    const imagenet = createTrunk({ kind: 'resnet18', stem: 'imagenet', widths: [4, 4, 4, 4] }, new Rng(2));
    try {
      expect(cifar.params.get('conv1.weight')!.shape).toEqual([3, 3, 3, 4]);
      expect(imagenet.params.get('conv1.weight')!.shape).toEqual([7, 7, 3, 4]);
      expect(cifar.apply(tf.randomNormal([1, 16, 16, 3]), 'train').shape).toEqual([1, 4]);
      expect(() => imagenet.apply(tf.randomNormal([1, 16, 16, 3]), 'train')).toThrow(/more than 1 value per channel/);
      expect(() => imagenet.apply(tf.randomNormal([1, 32, 32, 3]), 'train')).toThrow(/more than 1 value per channel/);
      expect(imagenet.apply(tf.randomNormal([1, 64, 64, 3]), 'train').shape).toEqual([1, 4]);
    } finally {
      cifar.dispose();
      imagenet.dispose();
    }
  });
});

describe('convnet trunk', () => {
  it('has 92,896 parameters by default and a 128-d output on 28x28x1', () => {
    const net = createTrunk({ kind: 'convnet', inChannels: 1 }, new Rng(0));
    try {
      // convs 1·32·9 + 32·64·9 + 64·128·9 = 92,448, BN γ/β 2·(32 + 64 + 128) = 448.
      expect(countElements(net.params)).toBe(92_896);
      expect([...net.params.keys()]).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'conv2.weight', 'bn2.weight', 'bn2.bias', 'conv3.weight', 'bn3.weight', 'bn3.bias']);
      const y = net.apply(tf.randomNormal([4, 28, 28, 1]), 'train');
      expect(y.shape).toEqual([4, 128]);
    } finally {
      net.dispose();
    }
  });
});

describe('createTrunk', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = createTrunk({ kind: 'convnet', inChannels: 1 }, new Rng(42));
    const b = createTrunk({ kind: 'convnet', inChannels: 1 }, new Rng(42));
    const c = createTrunk({ kind: 'convnet', inChannels: 1 }, new Rng(43));
    try {
      for (const name of a.params.keys()) expect(values(b, name)).toEqual(values(a, name));
      expect(values(c, 'conv2.weight')).not.toEqual(values(a, 'conv2.weight'));
    } finally {
      [a, b, c].forEach((n) => n.dispose());
    }
  });

  it('rejects bad configs with a message naming the problem', () => {
    const rng = new Rng(0);
    expect(() => createTrunk({ kind: 'resnet34' as never }, rng)).toThrow(/kind must be one of resnet18, resnet50, convnet/);
    expect(() => createTrunk({ kind: 'resnet18', widths: [8, 16, 32] }, rng)).toThrow(/needs 4 stage widths/);
    expect(() => createTrunk({ kind: 'convnet', stem: 'cifar' }, rng)).toThrow(/remove 'stem' and 'zeroInitResidual'/);
    expect(() => createTrunk({ kind: 'resnet18', stem: 'tiny' as never }, rng)).toThrow(/stem must be 'imagenet' or 'cifar'/);
    expect(() => createTrunk({ kind: 'convnet', inChannels: 0 }, rng)).toThrow(/inChannels must be a positive integer/);
  });

  it('rejects input with the wrong layout', () => {
    const net = createTrunk({ kind: 'convnet', inChannels: 1 }, new Rng(0));
    try {
      expect(() => net.apply(tf.zeros([2, 1, 28, 28]), 'eval')).toThrow(/expected NHWC input \[N, H, W, 1\], got \[2,1,28,28\]/);
    } finally {
      net.dispose();
    }
  });
});
