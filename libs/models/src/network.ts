// The contract every network in this project follows: explicit, named variables and a pure-ish forward.
// Explicit variables (instead of tf.layers models) make EMA copies, optimizer slots and checkpoints plain
// maps from stable names to tensors, and keep the training loop readable.
import type * as tf from '@tensorflow/tfjs';

/** 'train': BatchNorm uses batch statistics and updates its running buffers. 'eval': running statistics. */
export type Mode = 'train' | 'eval';

export interface Network {
  readonly name: string;
  /** Trainable variables by stable dotted name (also the checkpoint keys), e.g. `layer1.0.conv1.weight`. */
  readonly params: Map<string, tf.Variable>;
  /** Non-trainable state (BatchNorm running mean/var) by stable dotted name. */
  readonly buffers: Map<string, tf.Variable>;
  /** Width of the output rows. */
  readonly outputDim: number;
  /** Forward pass; input NHWC for trunks, [N, D] for MLPs; returns [N, outputDim]. */
  apply(x: tf.Tensor, mode: Mode): tf.Tensor2D;
  dispose(): void;
}
