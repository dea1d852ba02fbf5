// The results table as pure functions: tracked runs + the paper's numbers -> a table per preset, rendered as
// Markdown, CSV and a small SVG chart. Nothing here reads files or the network.
import { COLUMNS, type Column, type PaperRow } from './paper';
import type { TrackedRun } from './types';

/** Tag keys the training apps set; they identify which table cell a run belongs to. */
export const TABLE_TAGS = {
  method: 'unigrad.method',
  variant: 'unigrad.variant',
  preset: 'unigrad.preset',
  seed: 'unigrad.seed',
  /** 'row' = the parent run of one table entry; 'pretrain' and 'probe' = its children. */
  role: 'unigrad.role',
  probe: 'unigrad.probe',
} as const;

/** Probe metrics, as fractions in [0, 1], on the probe child run (or on the row run itself). */
export const TABLE_METRICS = { top1: 'probe_top1', top5: 'probe_top5', finalTop1: 'probe_final_top1' } as const;

export type Variant = Column | 'baseline';

export interface TableRowSpec {
  method: string;
  label: string;
  /** Variants that exist for this row; the others show "n/a". Baselines have one number, shown under "original". */
  variants: Variant[];
}

export const TABLE_ROWS: readonly TableRowSpec[] = [
  { method: 'moco', label: 'MoCo', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'simclr', label: 'SimCLR', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'simsiam', label: 'SimSiam', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'byol', label: 'BYOL', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'vicreg', label: 'VICReg', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'barlow_twins', label: 'Barlow Twins', variants: ['original', 'grad-no-mm', 'grad-mm'] },
  { method: 'unigrad', label: 'UniGrad', variants: ['grad-no-mm', 'grad-mm'] },
  { method: 'unigrad_cutmix', label: 'UniGrad + CutMix', variants: ['grad-mm'] },
  { method: 'baseline_raw', label: 'Baseline: raw pixels', variants: ['baseline'] },
  { method: 'baseline_random', label: 'Baseline: random encoder', variants: ['baseline'] },
  { method: 'baseline_supervised', label: 'Baseline: supervised', variants: ['baseline'] },
];

export interface CellResult {
  state: 'ok' | 'not run' | 'n/a';
  paper: number | undefined;
  /** Top-1 (%) mean and sample standard deviation over seeds (std undefined for one seed). */
  mean?: number;
  std?: number;
  top5Mean?: number;
  finalTop1Mean?: number;
  seeds: string[];
  /** Row run ids that contributed, one per seed. */
  runIds: string[];
  probes: string[];
  /** Row runs of this cell that did not finish with a probe result (failed, killed, running). */
  unfinished: number;
}

export interface TableRow {
  method: string;
  label: string;
  epochs: number | undefined;
  cells: Record<Column, CellResult>;
}

export interface PresetTable {
  preset: string;
  rows: TableRow[];
}

export interface ResultsTable {
  presets: PresetTable[];
  paperDataset: string;
}

function fraction(run: TrackedRun, key: string): number | undefined {
  const v = run.metrics[key];
  if (v === undefined) return undefined;
  if (!(v >= 0 && v <= 1)) {
    throw new Error(`tracking: metric ${key}=${v} on run ${run.id} is not a fraction in [0, 1]; log accuracies as fractions.`);
  }
  return v;
}

interface Outcome {
  row: TrackedRun;
  seed: string;
  probe: string;
  top1: number;
  top5?: number;
  finalTop1?: number;
}

/** The result of one row run: from its newest finished probe child with probe_top1, else from itself. */
function outcomeOf(row: TrackedRun, children: TrackedRun[]): Outcome | undefined {
  if (row.status !== 'FINISHED') return undefined;
  const probes = children
    .filter((c) => c.tags[TABLE_TAGS.role] === 'probe' && c.status === 'FINISHED' && c.metrics[TABLE_METRICS.top1] !== undefined)
    .sort((a, b) => b.startTime - a.startTime);
  const source = probes[0] ?? (row.metrics[TABLE_METRICS.top1] !== undefined ? row : undefined);
  if (!source) return undefined;
  return {
    row,
    seed: row.tags[TABLE_TAGS.seed] ?? source.tags[TABLE_TAGS.seed] ?? '?',
    probe: source.tags[TABLE_TAGS.probe] ?? row.tags[TABLE_TAGS.probe] ?? 'unspecified',
    top1: fraction(source, TABLE_METRICS.top1)!,
    top5: fraction(source, TABLE_METRICS.top5),
    finalTop1: fraction(source, TABLE_METRICS.finalTop1),
  };
}

function meanStd(xs: number[]): { mean: number; std: number | undefined } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: undefined };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

function cell(spec: TableRowSpec, column: Column, paper: PaperRow | undefined, rows: TrackedRun[], childrenOf: Map<string, TrackedRun[]>): CellResult {
  const variant: Variant = spec.variants.includes('baseline') && column === 'original' ? 'baseline' : column;
  const base: CellResult = { state: 'n/a', paper: paper?.top1[column], seeds: [], runIds: [], probes: [], unfinished: 0 };
  if (!spec.variants.includes(variant)) return base;
  const mine = rows.filter((r) => r.tags[TABLE_TAGS.method] === spec.method && r.tags[TABLE_TAGS.variant] === variant);
  // One result per seed: the newest finished row run of that seed.
  const bySeed = new Map<string, Outcome>();
  let unfinished = 0;
  for (const r of [...mine].sort((a, b) => a.startTime - b.startTime)) {
    const o = outcomeOf(r, childrenOf.get(r.id) ?? []);
    if (!o) unfinished++;
    else bySeed.set(o.seed, o);
  }
  const outcomes = [...bySeed.values()].sort((a, b) => a.seed.localeCompare(b.seed, undefined, { numeric: true }));
  if (outcomes.length === 0) return { ...base, state: 'not run', unfinished };
  const top1 = meanStd(outcomes.map((o) => o.top1 * 100));
  const top5 = outcomes.every((o) => o.top5 !== undefined) ? meanStd(outcomes.map((o) => o.top5! * 100)).mean : undefined;
  const fin = outcomes.every((o) => o.finalTop1 !== undefined) ? meanStd(outcomes.map((o) => o.finalTop1! * 100)).mean : undefined;
  return {
    state: 'ok',
    paper: base.paper,
    mean: top1.mean,
    std: top1.std,
    top5Mean: top5,
    finalTop1Mean: fin,
    seeds: outcomes.map((o) => o.seed),
    runIds: outcomes.map((o) => o.row.id),
    probes: [...new Set(outcomes.map((o) => o.probe))],
    unfinished,
  };
}

/** Builds one table per preset (the presets found in row runs, or exactly `options.presets` when given). */
export function buildResultsTable(runs: readonly TrackedRun[], paper: readonly PaperRow[], options: { presets?: string[] } = {}): ResultsTable {
  const rows = runs.filter((r) => r.tags[TABLE_TAGS.role] === 'row');
  const childrenOf = new Map<string, TrackedRun[]>();
  for (const r of runs) if (r.parentId) (childrenOf.get(r.parentId) ?? childrenOf.set(r.parentId, []).get(r.parentId)!).push(r);
  const found = [...new Set(rows.map((r) => r.tags[TABLE_TAGS.preset] ?? '(no preset)'))].sort();
  const presets = options.presets && options.presets.length > 0 ? options.presets : found.length > 0 ? found : ['(no runs)'];
  const paperBy = new Map(paper.map((p) => [p.method, p]));
  return {
    paperDataset: paper.length > 0 ? `${paper[0].dataset}, ${paper[0].model}` : 'none',
    presets: presets.map((preset) => {
      const inPreset = rows.filter((r) => (r.tags[TABLE_TAGS.preset] ?? '(no preset)') === preset);
      return {
        preset,
        rows: TABLE_ROWS.map((spec) => {
          const p = paperBy.get(spec.method);
          const cells = Object.fromEntries(COLUMNS.map((c) => [c, cell(spec, c, p, inPreset, childrenOf)])) as Record<Column, CellResult>;
          return { method: spec.method, label: spec.label, epochs: p?.epochs, cells };
        }),
      };
    }),
  };
}

const COLUMN_TITLES: Record<Column, string> = { original: 'Original', 'grad-no-mm': 'Grad. w/o mm enc.', 'grad-mm': 'Grad. w/ mm enc.' };

function fmtPaper(v: number | undefined): string {
  return v === undefined ? '–' : v.toFixed(1);
}

export function formatOurs(c: CellResult): string {
  if (c.state === 'n/a') return 'n/a';
  if (c.state === 'not run') return c.unfinished > 0 ? `not run (${c.unfinished} unfinished)` : 'not run';
  const n = c.seeds.length;
  const v = c.std === undefined ? c.mean!.toFixed(2) : `${c.mean!.toFixed(2)} ± ${c.std.toFixed(2)}`;
  return `${v} (${n} seed${n === 1 ? '' : 's'})`;
}

export function renderMarkdown(table: ResultsTable, note = ''): string {
  const out: string[] = [
    '# Results',
    '',
    '<!-- Generated by `npm run table`; do not edit by hand. -->',
    '',
    `Linear-probe top-1 (%). "paper" = the UniGrad README (${table.paperDataset}); "ours" = this repository's tracked runs,`,
    'mean ± sample std over seeds. The datasets and encoders differ, so compare the orderings, not the values.',
    'Baselines have a single number, shown under "Original". "not run" = no finished run with a probe result; "n/a" = no such variant.',
  ];
  if (note) out.push('', note);
  out.push('', '![results chart](results.svg)');
  for (const p of table.presets) {
    out.push('', `## Preset: ${p.preset}`, '');
    const head = ['Method', 'Epochs (paper)'];
    for (const c of COLUMNS) head.push(`${COLUMN_TITLES[c]}: paper`, `${COLUMN_TITLES[c]}: ours`);
    head.push('Probe', 'Row runs');
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of p.rows) {
      const cells = [r.label, r.epochs === undefined ? '–' : String(r.epochs)];
      for (const c of COLUMNS) cells.push(fmtPaper(r.cells[c].paper), formatOurs(r.cells[c]));
      const probes = [...new Set(COLUMNS.flatMap((c) => r.cells[c].probes))];
      const ids = COLUMNS.flatMap((c) => r.cells[c].runIds.map((id) => `\`${id.slice(0, 8)}\``));
      cells.push(probes.length > 0 ? probes.join(', ') : '–', ids.length > 0 ? ids.join(' ') : '–');
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  return out.join('\n') + '\n';
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function renderCsv(table: ResultsTable): string {
  const head = ['preset', 'method', 'label', 'paper_epochs'];
  for (const c of COLUMNS) {
    const k = c.replace(/-/g, '_');
    head.push(`${k}_paper`, `${k}_ours`, `${k}_ours_std`, `${k}_top5`, `${k}_final_top1`, `${k}_seeds`, `${k}_status`, `${k}_probe`, `${k}_run_ids`);
  }
  const lines = [head.join(',')];
  const num = (v: number | undefined, d: number) => (v === undefined ? '' : v.toFixed(d));
  for (const p of table.presets) {
    for (const r of p.rows) {
      const f = [p.preset, r.method, r.label, r.epochs === undefined ? '' : String(r.epochs)];
      for (const c of COLUMNS) {
        const x = r.cells[c];
        f.push(num(x.paper, 1), num(x.mean, 4), num(x.std, 4), num(x.top5Mean, 4), num(x.finalTop1Mean, 4), String(x.seeds.length), x.state, x.probes.join(' '), x.runIds.join(' '));
      }
      lines.push(f.map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars of our top-1 per row and column (whiskers = std), paper values as ticks, one panel per preset. */
export function renderSvg(table: ResultsTable): string {
  const colors: Record<Column, string> = { original: '#4c78a8', 'grad-no-mm': '#f58518', 'grad-mm': '#54a24b' };
  const labelW = 170;
  const plotW = 400;
  const barH = 7;
  const rowH = 3 * barH + 8;
  const x = (pct: number) => labelW + (Math.max(0, Math.min(100, pct)) / 100) * plotW;
  const parts: string[] = [];
  let y = 24;
  parts.push(`<text x="${labelW}" y="14" font-size="11">Linear-probe top-1 (%): bars = ours (mean, whisker = std), ticks = paper</text>`);
  for (const p of table.presets) {
    y += 8;
    parts.push(`<text x="4" y="${y + 10}" font-size="12" font-weight="bold">Preset: ${esc(p.preset)}</text>`);
    y += 18;
    for (const r of p.rows) {
      parts.push(`<text x="4" y="${y + rowH / 2 + 3}" font-size="10">${esc(r.label)}</text>`);
      COLUMNS.forEach((c, i) => {
        const cy = y + i * barH;
        const cl = r.cells[c];
        if (cl.state === 'ok') {
          parts.push(`<rect x="${labelW}" y="${cy}" width="${(x(cl.mean!) - labelW).toFixed(1)}" height="${barH - 1}" fill="${colors[c]}"/>`);
          if (cl.std !== undefined) {
            parts.push(`<line x1="${x(cl.mean! - cl.std).toFixed(1)}" x2="${x(cl.mean! + cl.std).toFixed(1)}" y1="${cy + barH / 2}" y2="${cy + barH / 2}" stroke="#000"/>`);
          }
          parts.push(`<text x="${(x(cl.mean!) + 3).toFixed(1)}" y="${cy + barH - 1}" font-size="7">${cl.mean!.toFixed(1)}</text>`);
        } else if (cl.state === 'not run') {
          parts.push(`<text x="${labelW + 2}" y="${cy + barH - 1}" font-size="7" fill="#999">not run</text>`);
        }
        if (cl.paper !== undefined) {
          parts.push(`<line x1="${x(cl.paper).toFixed(1)}" x2="${x(cl.paper).toFixed(1)}" y1="${cy}" y2="${cy + barH - 1}" stroke="${colors[c]}" stroke-width="2" stroke-dasharray="2,1"/>`);
        }
      });
      y += rowH;
    }
    parts.push(`<line x1="${labelW}" x2="${labelW}" y1="${y - p.rows.length * rowH}" y2="${y}" stroke="#333"/>`);
  }
  const legendY = y + 14;
  COLUMNS.forEach((c, i) => {
    parts.push(`<rect x="${labelW + i * 130}" y="${legendY - 8}" width="10" height="8" fill="${colors[c]}"/>`);
    parts.push(`<text x="${labelW + i * 130 + 14}" y="${legendY}" font-size="10">${COLUMN_TITLES[c]}</text>`);
  });
  const h = legendY + 10;
  const w = labelW + plotW + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}
