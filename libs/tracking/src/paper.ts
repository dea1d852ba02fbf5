// The paper's reference numbers, kept as data in configs/paper-results.csv.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { workspaceRoot } from './store';

export const COLUMNS = ['original', 'grad-no-mm', 'grad-mm'] as const;
export type Column = (typeof COLUMNS)[number];

export interface PaperRow {
  method: string;
  label: string;
  epochs: number;
  /** Top-1 (%) per column; undefined where the paper has no number. */
  top1: Record<Column, number | undefined>;
  dataset: string;
  model: string;
}

export function defaultPaperCsv(): string {
  return join(workspaceRoot(), 'configs', 'paper-results.csv');
}

export function parsePaperResults(text: string, source = 'paper-results.csv'): PaperRow[] {
  const records = parse(text, { columns: true, comment: '#', skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  const num = (row: Record<string, string>, col: string, line: number): number | undefined => {
    const v = row[col];
    if (v === undefined) throw new Error(`tracking: ${source} has no '${col}' column; expected method,label,epochs,original,grad_no_mm,grad_mm,dataset,model.`);
    if (v === '' || v === '-' || v === '–') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`tracking: ${source} row ${line} (${row.method}) has '${v}' in '${col}', not a number.`);
    return n;
  };
  return records.map((r, i) => ({
    method: r.method,
    label: r.label,
    epochs: num(r, 'epochs', i + 1) ?? 0,
    top1: { original: num(r, 'original', i + 1), 'grad-no-mm': num(r, 'grad_no_mm', i + 1), 'grad-mm': num(r, 'grad_mm', i + 1) },
    dataset: r.dataset,
    model: r.model,
  }));
}

export function readPaperResults(path = defaultPaperCsv()): PaperRow[] {
  return parsePaperResults(readFileSync(path, 'utf8'), path);
}
