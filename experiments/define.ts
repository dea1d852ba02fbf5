// One experiment = one cell of the paper's table: a method in one form, composed with a preset from configs/.
import type { ConfigOverride, MethodName } from '@unigrad/configs';

/** Table rows (the paper's, plus UniGrad + CutMix and the baselines that give the numbers meaning). */
export type RowName = MethodName | 'unigrad_cutmix' | 'baseline_raw' | 'baseline_random' | 'baseline_supervised';
/** Table columns: original loss, gradient form without / with momentum encoder; baselines have their own. */
export type Variant = 'original' | 'grad-no-mm' | 'grad-mm' | 'baseline';

export interface Experiment {
  /** `<row>:<variant>` with the npm-script spelling of the row, e.g. `barlow-twins:grad-mm`. */
  id: string;
  row: RowName;
  variant: Variant;
  /** What this cell is, in one sentence (shown by `reproduce --list`). */
  description: string;
  /** The cell's settings on top of the preset (method, form, target, cutmix, cell-specific hyper-parameters). */
  overrides: ConfigOverride;
}

/** npm-script spelling of a row: `barlow_twins` → `barlow-twins`. */
export function scriptName(row: RowName): string {
  return row.replace(/_/g, '-');
}

export function defineExperiment(cell: Omit<Experiment, 'id'>): Experiment {
  return { id: `${scriptName(cell.row)}:${cell.variant}`, ...cell };
}

/** The three SSL cells every paper row has (UniGrad has no original loss). */
export function methodCell(row: MethodName, variant: Exclude<Variant, 'baseline'>, description: string, overrides: ConfigOverride = {}): Experiment {
  const form = variant === 'original' ? 'original' : 'grad';
  const target = variant === 'grad-no-mm' ? 'no_mm' : 'mm';
  return defineExperiment({ row, variant, description, overrides: { method: row, form, target, ...overrides } });
}
