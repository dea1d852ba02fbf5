// What a pretraining checkpoint holds beside the tensors, and how the loop writes and restores its whole state:
// weights, EMA weights, optimizer slots (`optim.*`), the method state (`state.*`: UniGrad's F, MoCo's queue).
import * as tf from '@tensorflow/tfjs';
import { Rng, currentBackend } from '@unigrad/core';
import type { PretrainConfig } from '@unigrad/configs';
import type { MethodState } from '@unigrad/losses';
import { createTrunk, loadCheckpoint, saveCheckpoint, storedToTensor, type Checkpoint, type Network } from '@unigrad/models';
import { trunkConfigFor, type Training } from './setup';

/** Checkpoint metadata (the tensors hold weights, EMA weights, optimizer slots and method state). */
export interface CheckpointMeta {
  kind: 'unigrad-pretrain';
  /** The resolved config the run used (its `loss` holds the hyper-parameters that ran). */
  config: PretrainConfig;
  /** Steps completed; the next step to run. */
  step: number;
  /** Epoch of the next step. */
  epoch: number;
  optimizerSteps: number;
  /** Every random draw is derived from (seed, step) or (seed, epoch), so this is the whole RNG state. */
  rng: { seed: number; step: number };
  backend: string;
  savedAt: string;
  /** Anything else the caller stored (e.g. `trackedRunId`, so a resume continues the same tracked run). */
  extra?: Record<string, unknown>;
}

/** The metadata of a checkpoint written by the engine; anything else is an error naming the file. */
export function pretrainMeta(meta: unknown, path: string): CheckpointMeta {
  const m = meta as Partial<CheckpointMeta> | null;
  if (!m || m.kind !== 'unigrad-pretrain' || typeof m.step !== 'number' || !m.config) {
    throw new Error(`${path} is not a pretraining checkpoint written by the engine (no 'unigrad-pretrain' metadata)`);
  }
  return m as CheckpointMeta;
}

/** Writes the training state atomically. */
export function saveTrainingState(
  path: string,
  training: Training,
  state: MethodState,
  meta: Pick<CheckpointMeta, 'config' | 'step' | 'epoch'> & Record<string, unknown>,
): void {
  const { config, step, epoch, ...extra } = meta;
  const tensors: Record<string, tf.Tensor> = { ...training.net.allTensorsForCheckpoint() };
  for (const [k, v] of Object.entries(training.optimizer.state())) tensors[`optim.${k}`] = v;
  for (const [k, v] of Object.entries(state)) if (v) tensors[`state.${k}`] = v;
  const full: CheckpointMeta = {
    kind: 'unigrad-pretrain',
    config,
    step,
    epoch,
    optimizerSteps: training.optimizer.stepCount,
    rng: { seed: config.seed, step },
    backend: currentBackend()?.name ?? tf.getBackend(),
    savedAt: new Date().toISOString(),
    extra,
  };
  saveCheckpoint(path, { tensors, meta: full });
}

/** Restores weights, optimizer slots and the method state from a loaded checkpoint; returns the method state. */
export function restoreTrainingState(checkpoint: Checkpoint, meta: CheckpointMeta, training: Training): MethodState {
  const { tensors } = checkpoint;
  training.net.loadFromCheckpoint(pick(tensors, (k) => !k.startsWith('optim.') && !k.startsWith('state.')));
  const slots = Object.fromEntries(Object.entries(pick(tensors, (k) => k.startsWith('optim.'))).map(([k, v]) => [k.slice(6), storedToTensor(v)]));
  training.optimizer.loadState(slots, meta.optimizerSteps);
  tf.dispose(Object.values(slots));
  return Object.fromEntries(Object.entries(pick(tensors, (k) => k.startsWith('state.'))).map(([k, v]) => [k.slice(6), storedToTensor(v)])) as MethodState;
}

function pick<T>(record: Record<string, T>, keep: (key: string) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => keep(k)));
}

/** The pretraining config and online trunk (`encoder.*`) of a checkpoint; the momentum branch and projector are ignored. */
export function loadTrunkFromCheckpoint(path: string): { config: PretrainConfig; trunk: Network; step: number } {
  const checkpoint = loadCheckpoint(path);
  const meta = pretrainMeta(checkpoint.meta, path);
  const trunk = createTrunk(trunkConfigFor(meta.config), new Rng(0));
  const problems: string[] = [];
  for (const [name, variable] of [...trunk.params, ...trunk.buffers]) {
    const stored = checkpoint.tensors[`encoder.${name}`];
    if (!stored) problems.push(`missing encoder.${name}`);
    else if (!tf.util.arraysEqual(stored.shape, variable.shape)) problems.push(`encoder.${name} has shape [${stored.shape}], expected [${variable.shape}]`);
    else {
      const value = storedToTensor(stored);
      variable.assign(value);
      value.dispose();
    }
  }
  if (problems.length) {
    trunk.dispose();
    throw new Error(`${path}: the online trunk does not match its own config: ${problems.slice(0, 5).join('; ')}`);
  }
  return { config: meta.config, trunk, step: meta.step };
}
