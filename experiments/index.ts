// The registry of table cells: every registered method's cells (from its spec in libs/losses), then the baselines.
// Derived on each call, so a method added with registerMethod has its cells at once.
import { BASELINES } from './baselines';
import { methodCells, type Experiment, type Variant } from './define';

export function listExperiments(): Experiment[] {
  return [...methodCells(), ...BASELINES];
}

export function getExperiment(id: string): Experiment {
  const all = listExperiments();
  const found = all.find((e) => e.id === id);
  if (!found) throw new Error(`unknown experiment '${id}'; known: ${all.map((e) => e.id).join(', ')}`);
  return found;
}

/** `all`, a comma list of cell ids (`simclr:grad-mm`), or whole rows (`simclr`) / variants (`grad-mm`), in table order. */
export function selectCells(spec: string): Experiment[] {
  const all = listExperiments();
  if (spec === 'all') return all;
  const chosen = new Set<Experiment>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part.includes(':')) chosen.add(all.find((e) => e.id === part) ?? getExperiment(part));
    else {
      const matches = all.filter((e) => e.id.split(':')[0] === part || e.variant === part);
      if (!matches.length) throw new Error(`--rows: '${part}' matches no cell; use 'all', ids like simclr:grad-mm, a row (simclr) or a variant (grad-mm)`);
      matches.forEach((m) => chosen.add(m));
    }
  }
  return all.filter((e) => chosen.has(e));
}

export interface TableRow {
  method: string;
  label: string;
  variants: Variant[];
}

/** The results table's rows, in table order (row name, label, the variants it has). */
export function tableRows(): TableRow[] {
  const rows = new Map<string, TableRow>();
  for (const e of listExperiments()) {
    const row = rows.get(e.row) ?? { method: e.row, label: e.label, variants: [] };
    row.variants.push(e.variant);
    rows.set(e.row, row);
  }
  return [...rows.values()];
}

export { BASELINES, BASELINE_KINDS, baselineKind } from './baselines';
export type { BaselineKind } from './baselines';
export { defineExperiment, methodCells, methodExperiments, scriptName } from './define';
export type { Experiment, Variant } from './define';
