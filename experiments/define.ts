// One experiment = one cell of the results table: a method in one form (from its method spec in libs/losses), or a
// baseline, composed with a preset from configs/. Nothing here lists methods: the cells derive from the registry.
import type { ConfigOverride } from '@unigrad/configs';
import { listMethods, type Method, type Variant as MethodVariant } from '@unigrad/losses';

/** Table columns: original loss, gradient form without / with momentum encoder; baselines have their own. */
export type Variant = MethodVariant | 'baseline';

export interface Experiment {
  /** `<row>:<variant>` with the npm-script spelling of the row, e.g. `barlow-twins:grad-mm`. */
  id: string;
  /** Row name as tracked and in configs/paper-results.csv, e.g. `barlow_twins`, `unigrad_cutmix`, `baseline_raw`. */
  row: string;
  /** Row label as the table prints it. */
  label: string;
  variant: Variant;
  /** What this cell is, in one sentence (shown by `reproduce --list`). */
  description: string;
  /** The cell's settings on top of the preset (method, form, target, cutmix). */
  overrides: ConfigOverride;
}

/** npm-script spelling of a row: `barlow_twins` → `barlow-twins`. */
export function scriptName(row: string): string {
  return row.replace(/_/g, '-');
}

export function defineExperiment(cell: Omit<Experiment, 'id'>): Experiment {
  return { id: `${scriptName(cell.row)}:${cell.variant}`, ...cell };
}

/** The cells a method spec contributes (its `rows`), as experiments. */
export function methodExperiments(method: Method): Experiment[] {
  return method.rows.flatMap((row) =>
    row.cells.map((cell) =>
      defineExperiment({
        row: row.row,
        label: row.label,
        variant: cell.variant,
        description: cell.description,
        overrides: {
          method: method.name,
          form: cell.variant === 'original' ? 'original' : 'grad',
          target: cell.variant === 'grad-no-mm' ? 'no_mm' : 'mm',
          ...(cell.cutmix ? { cutmix: true } : {}),
        },
      }),
    ),
  );
}

/** Every registered method's cells, in registry order. */
export function methodCells(): Experiment[] {
  return listMethods().flatMap(methodExperiments);
}
