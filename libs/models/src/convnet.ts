// A small convnet for 28x28 grayscale images (Fashion-MNIST) on a 2-core CPU.
//
// Design, for speed: a stack of conv3x3-BN-ReLU stages, a 2x2 max-pool between stages and global average
// pooling at the end. With the default widths [32, 64, 128] on 28x28x1 it has 92,896 parameters and about
// 7.45M multiply-adds per image (28²·1·32·9 + 14²·32·64·9 + 7²·64·128·9), against ~556M for a CIFAR-stem
// ResNet-18 at 32x32, so two views plus a momentum encoder fit a 2-core CPU step budget. Pooling early
// keeps the wide convolutions at 14² and 7²; BN after every conv (no conv bias, BN follows) gives the same
// per-view batch statistics the ResNets have, which the Siamese methods rely on.
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv2d, createBatchNorm, createConv2d, globalAvgPool, maxPool2x2, relu, type BatchNormWeights, type Conv2dWeights, type VariableStore } from './layers';
import type { Mode, Network } from './network';

export interface ConvNetOptions {
  /** Channels of each conv stage; a 2x2 max-pool follows every stage but the last. */
  widths: readonly number[];
  inChannels: number;
}

export const CONVNET_DEFAULT_WIDTHS: readonly number[] = [32, 64, 128];

export class ConvNetTrunk implements Network {
  readonly name = 'convnet';
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;
  readonly outputDim: number;
  readonly options: ConvNetOptions;
  private readonly stages: { conv: Conv2dWeights; bn: BatchNormWeights }[];

  constructor(store: VariableStore, options: ConvNetOptions) {
    this.options = options;
    this.params = store.params;
    this.buffers = store.buffers;
    let inChannels = options.inChannels;
    this.stages = options.widths.map((width, i) => {
      const conv = createConv2d(store, `conv${i + 1}`, { inChannels, outChannels: width, kernelSize: 3 });
      const bn = createBatchNorm(store, `bn${i + 1}`, width);
      inChannels = width;
      return { conv, bn };
    });
    this.outputDim = inChannels;
  }

  apply(x: tf.Tensor, mode: Mode): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[3] !== this.options.inChannels) {
      throw new Error(`convnet: expected NHWC input [N, H, W, ${this.options.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      this.stages.forEach(({ conv, bn }, i) => {
        h = batchNorm(conv2d(h, conv), bn, mode);
        // max-pool then ReLU equals ReLU then max-pool (ReLU is monotone; the gradient reaches the same element,
        // and is 0 wherever the pooled value is ≤ 0 either way), with the ReLU on a quarter of the values.
        if (i < this.stages.length - 1) h = maxPool2x2(h);
        h = relu(h);
      });
      return globalAvgPool(h);
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}
