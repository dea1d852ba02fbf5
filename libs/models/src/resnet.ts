// ResNet-18 / ResNet-50 trunks equivalent to torchvision's (v1.5: the stride sits on the 3x3 conv of a
// bottleneck), without the fc head: the output is the global-average-pooled feature vector.
// Variable names and element counts match torchvision's state_dict (conv1.weight, layer1.0.bn1.running_mean,
// layer2.0.downsample.0.weight, ...); layouts are TF.js ones (see layers.ts).
import * as tf from '@tensorflow/tfjs';
import {
  batchNorm,
  conv2d,
  createBatchNorm,
  createConv2d,
  globalAvgPool,
  padSpatial,
  relu,
  type BatchNormWeights,
  type Conv2dWeights,
  type VariableStore,
} from './layers';
import type { Mode, Network } from './network';

export type ResNetDepth = 18 | 50;
/** 'imagenet': 7x7/2 conv + 3x3/2 max-pool (224px inputs). 'cifar': 3x3/1 conv, no max-pool (32px and smaller). */
export type ResNetStem = 'imagenet' | 'cifar';

export interface ResNetOptions {
  depth: ResNetDepth;
  stem: ResNetStem;
  /** Planes of layer1..layer4 (torchvision: [64, 128, 256, 512]); the stem has widths[0] channels. */
  widths: readonly [number, number, number, number];
  inChannels: number;
  /** Last BN γ of every residual block starts at 0, so each block starts as the identity (torchvision flag). */
  zeroInitResidual: boolean;
}

interface Downsample {
  conv: Conv2dWeights;
  bn: BatchNormWeights;
}

interface Block {
  convs: Conv2dWeights[];
  bns: BatchNormWeights[];
  downsample: Downsample | null;
}

const BLOCKS_PER_LAYER: Record<ResNetDepth, [number, number, number, number]> = {
  18: [2, 2, 2, 2],
  50: [3, 4, 6, 3],
};
/** Output channels of a block relative to its planes: BasicBlock 1, Bottleneck 4. */
const EXPANSION: Record<ResNetDepth, number> = { 18: 1, 50: 4 };

export class ResNetTrunk implements Network {
  readonly name: string;
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;
  readonly outputDim: number;
  readonly options: ResNetOptions;
  private readonly stemConv: Conv2dWeights;
  private readonly stemBn: BatchNormWeights;
  private readonly layers: Block[][];

  constructor(store: VariableStore, options: ResNetOptions) {
    this.options = options;
    const { depth, stem, widths, inChannels, zeroInitResidual } = options;
    this.name = `resnet${depth}`;
    this.params = store.params;
    this.buffers = store.buffers;
    const expansion = EXPANSION[depth];

    this.stemConv =
      stem === 'imagenet'
        ? createConv2d(store, 'conv1', { inChannels, outChannels: widths[0], kernelSize: 7, stride: 2, pad: 3 })
        : createConv2d(store, 'conv1', { inChannels, outChannels: widths[0], kernelSize: 3, stride: 1, pad: 1 });
    this.stemBn = createBatchNorm(store, 'bn1', widths[0]);

    let inplanes = widths[0];
    this.layers = [];
    for (let li = 0; li < 4; li++) {
      const planes = widths[li];
      const layerStride = li === 0 ? 1 : 2;
      const blocks: Block[] = [];
      for (let bi = 0; bi < BLOCKS_PER_LAYER[depth][li]; bi++) {
        const s = store.scope(`layer${li + 1}.${bi}`);
        const stride = bi === 0 ? layerStride : 1;
        const outPlanes = planes * expansion;
        const block: Block = { convs: [], bns: [], downsample: null };
        if (depth === 18) {
          // BasicBlock: 3x3(stride) → BN → ReLU → 3x3 → BN (+ identity) → ReLU.
          block.convs.push(createConv2d(s, 'conv1', { inChannels: inplanes, outChannels: planes, kernelSize: 3, stride }));
          block.bns.push(createBatchNorm(s, 'bn1', planes));
          block.convs.push(createConv2d(s, 'conv2', { inChannels: planes, outChannels: planes, kernelSize: 3 }));
          block.bns.push(createBatchNorm(s, 'bn2', planes, { zeroGamma: zeroInitResidual }));
        } else {
          // Bottleneck: 1x1 → BN → ReLU → 3x3(stride) → BN → ReLU → 1x1 (×4) → BN (+ identity) → ReLU.
          block.convs.push(createConv2d(s, 'conv1', { inChannels: inplanes, outChannels: planes, kernelSize: 1 }));
          block.bns.push(createBatchNorm(s, 'bn1', planes));
          block.convs.push(createConv2d(s, 'conv2', { inChannels: planes, outChannels: planes, kernelSize: 3, stride }));
          block.bns.push(createBatchNorm(s, 'bn2', planes));
          block.convs.push(createConv2d(s, 'conv3', { inChannels: planes, outChannels: outPlanes, kernelSize: 1 }));
          block.bns.push(createBatchNorm(s, 'bn3', outPlanes, { zeroGamma: zeroInitResidual }));
        }
        if (stride !== 1 || inplanes !== outPlanes) {
          block.downsample = {
            conv: createConv2d(s, 'downsample.0', { inChannels: inplanes, outChannels: outPlanes, kernelSize: 1, stride }),
            bn: createBatchNorm(s, 'downsample.1', outPlanes),
          };
        }
        blocks.push(block);
        inplanes = outPlanes;
      }
      this.layers.push(blocks);
    }
    this.outputDim = inplanes;
  }

  apply(x: tf.Tensor, mode: Mode): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[3] !== this.options.inChannels) {
      throw new Error(`${this.name}: expected NHWC input [N, H, W, ${this.options.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      let h = relu(batchNorm(conv2d(x as tf.Tensor4D, this.stemConv), this.stemBn, mode));
      // torchvision's MaxPool2d(3, 2, padding=1); zero padding equals −∞ padding here because h ≥ 0 after ReLU.
      if (this.options.stem === 'imagenet') h = tf.maxPool(padSpatial(h as tf.Tensor4D, 1, 0), 3, 2, 'valid');
      for (const blocks of this.layers) {
        for (const block of blocks) h = applyBlock(h, block, mode);
      }
      return globalAvgPool(h); // global average pooling + flatten
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

function applyBlock(x: tf.Tensor4D, block: Block, mode: Mode): tf.Tensor4D {
  let h = x;
  const last = block.convs.length - 1;
  for (let i = 0; i <= last; i++) {
    h = batchNorm(conv2d(h, block.convs[i]), block.bns[i], mode);
    if (i < last) h = relu(h);
  }
  const identity = block.downsample ? batchNorm(conv2d(x, block.downsample.conv), block.downsample.bn, mode) : x;
  return relu(tf.add(h, identity) as tf.Tensor4D);
}
