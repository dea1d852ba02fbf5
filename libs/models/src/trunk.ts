// The trunk factory: one typed config → a ResNet-18/50 or the small convnet.
import type { Rng } from '@unigrad/core';
import { CONVNET_DEFAULT_WIDTHS, ConvNetTrunk } from './convnet';
import { VariableStore } from './layers';
import type { Network } from './network';
import { ResNetTrunk, type ResNetStem } from './resnet';

export type TrunkKind = 'resnet18' | 'resnet50' | 'convnet';
export const TRUNK_KINDS: readonly TrunkKind[] = ['resnet18', 'resnet50', 'convnet'];

export interface TrunkConfig {
  kind: TrunkKind;
  /** ResNets only; default 'imagenet'. */
  stem?: ResNetStem;
  /** ResNets: 4 stage widths, default [64, 128, 256, 512]. Convnet: any number of stages, default [32, 64, 128]. */
  widths?: readonly number[];
  /** Image channels; default 3 (1 for Fashion-MNIST). */
  inChannels?: number;
  /** ResNets only; default true, as in the official code (§7.1). */
  zeroInitResidual?: boolean;
}

export const RESNET_DEFAULT_WIDTHS = [64, 128, 256, 512] as const;

/** Builds a trunk with fresh weights drawn from `rng`. */
export function createTrunk(config: TrunkConfig, rng: Rng): Network {
  return buildTrunk(config, VariableStore.fromRng(rng));
}

/** Builds a trunk into an existing store (used for EMA copies, which copy values instead of drawing them). */
export function buildTrunk(config: TrunkConfig, store: VariableStore): Network {
  const { kind } = config;
  if (!TRUNK_KINDS.includes(kind)) throw new Error(`trunk kind must be one of ${TRUNK_KINDS.join(', ')}, got '${String(kind)}'`);
  const inChannels = config.inChannels ?? 3;
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new Error(`trunk inChannels must be a positive integer, got ${inChannels}`);
  if (config.widths !== undefined && (config.widths.length === 0 || config.widths.some((w) => !Number.isInteger(w) || w < 1))) {
    throw new Error(`trunk widths must be positive integers, got [${config.widths}]`);
  }

  if (kind === 'convnet') {
    if (config.stem !== undefined || config.zeroInitResidual !== undefined) {
      throw new Error("trunk 'convnet' has no stem or residual blocks: remove 'stem' and 'zeroInitResidual' from its config");
    }
    return new ConvNetTrunk(store, { widths: config.widths ?? CONVNET_DEFAULT_WIDTHS, inChannels });
  }

  const stem = config.stem ?? 'imagenet';
  if (stem !== 'imagenet' && stem !== 'cifar') throw new Error(`trunk stem must be 'imagenet' or 'cifar', got '${String(stem)}'`);
  const widths = config.widths ?? RESNET_DEFAULT_WIDTHS;
  if (widths.length !== 4) throw new Error(`${kind} needs 4 stage widths (e.g. [64, 128, 256, 512]), got [${widths}]`);
  return new ResNetTrunk(store, {
    depth: kind === 'resnet18' ? 18 : 50,
    stem,
    widths: [widths[0], widths[1], widths[2], widths[3]],
    inChannels,
    zeroInitResidual: config.zeroInitResidual ?? true,
  });
}
