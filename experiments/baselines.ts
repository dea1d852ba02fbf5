// The three baselines that give the table a scale: the same probe on raw pixels, on a frozen random encoder, and on
// a supervised encoder (the upper bound). They pretrain nothing; the engine builds their encoders.
import { defineExperiment } from './define';

export const BASELINES = [
  defineExperiment({
    row: 'baseline_raw',
    label: 'Baseline: raw pixels',
    variant: 'baseline',
    description: 'Linear probe on raw (normalised) pixels: what a linear model gets with no encoder at all.',
    overrides: {},
  }),
  defineExperiment({
    row: 'baseline_random',
    label: 'Baseline: random encoder',
    variant: 'baseline',
    description: 'Linear probe on a frozen randomly initialised encoder (same architecture and seed as the SSL runs): the floor any SSL method must clearly beat.',
    overrides: {},
  }),
  defineExperiment({
    row: 'baseline_supervised',
    label: 'Baseline: supervised',
    variant: 'baseline',
    description: 'Encoder trained end to end with labels (the upper bound), then the same linear probe.',
    overrides: {},
  }),
] as const;

/** Baseline row → which encoder the engine builds for it. */
export const BASELINE_KINDS = { baseline_raw: 'raw', baseline_random: 'random', baseline_supervised: 'supervised' } as const;
export type BaselineKind = (typeof BASELINE_KINDS)[keyof typeof BASELINE_KINDS];

export function baselineKind(row: string): BaselineKind | undefined {
  return (BASELINE_KINDS as Record<string, BaselineKind>)[row];
}
