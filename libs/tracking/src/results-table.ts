// The results table as pure functions: tracked runs + the paper's numbers -> a table per preset (with confidence
// intervals, provenance and the verdicts of the pre-registered claims), rendered as Markdown, CSV and a small SVG
// chart. Nothing here reads files, the network or git: staleness is a function the caller passes.
import { evaluateClaims, renderClaimsMarkdown, type Claim, type ClaimVerdict } from './claims';
import { COLUMNS, type Column, type PaperRow } from './paper';
import { COMMIT_TAG, shortCommit, type Staleness } from './provenance';
import { CONFIDENCE_LEVEL, summarize } from './stats';
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

/** Where a cell's numbers came from: the git commits its runs ran at, and whether that code has changed since. */
export interface CellProvenance {
  /** Full hashes (tag `mlflow.source.git.commit`) of the row runs and of the pretrain/probe children that count, sorted. */
  commits: string[];
  /** Of those runs, how many carry no commit tag. */
  untagged: number;
  /** Commits whose code changed since (staleness returned true). */
  changed: string[];
  /** Commits the staleness check could not place (returned undefined, e.g. not in this repository). */
  unknown: string[];
  /**
   * true when any commit changed or is unknown, or a run has no commit tag (all three are "not known to be the
   * current code"); false when every run is at unchanged code; undefined when no staleness check was given.
   */
  stale?: boolean;
}

export interface CellResult {
  state: 'ok' | 'not run' | 'n/a';
  paper: number | undefined;
  /** Number of seeds (= seeds.length). */
  n: number;
  /** Top-1 (%) mean and sample standard deviation over seeds (std undefined for one seed). */
  mean?: number;
  std?: number;
  /** Half-width and bounds of the two-sided Student-t interval of the mean at `ResultsTable.level` (undefined for one seed). */
  halfWidth?: number;
  ci?: [number, number];
  top5Mean?: number;
  finalTop1Mean?: number;
  seeds: string[];
  /** Top-1 (%) of each seed, in the order of `seeds` (what paired comparisons pair). */
  values: number[];
  /** Row run ids that contributed, one per seed. */
  runIds: string[];
  probes: string[];
  /** Row runs of this cell that did not finish with a probe result (failed, killed, running). */
  unfinished: number;
  provenance: CellProvenance;
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
  /** Verdicts of the claims passed to buildResultsTable, in their order (empty when none were given). */
  claims: ClaimVerdict[];
}

export interface ResultsTable {
  presets: PresetTable[];
  paperDataset: string;
  /** Confidence level of every interval (0.95 unless buildResultsTable was told otherwise). */
  level: number;
  /** Whether a staleness check was given, and what it compares (Staleness.description). */
  stalenessChecked: boolean;
  stalenessDescription?: string;
}

export interface BuildOptions {
  /** Exactly these presets, in this order (default: every preset found in row runs). */
  presets?: string[];
  /** Pre-registered claims to evaluate on every preset (e.g. configs/claims.ts). */
  claims?: readonly Claim[];
  /** Is the code a commit ran at changed since? Without it, commits are shown but nothing is marked stale. */
  staleness?: Staleness;
  /** Confidence level of the cells' intervals (default 0.95; each claim has its own level). */
  level?: number;
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
  /** The runs behind this result: the row run, its finished pretrain children and the probe run used. */
  sources: TrackedRun[];
}

/** The result of one row run: from its newest finished probe child with probe_top1, else from itself. */
function outcomeOf(row: TrackedRun, children: TrackedRun[]): Outcome | undefined {
  if (row.status !== 'FINISHED') return undefined;
  const probes = children
    .filter((c) => c.tags[TABLE_TAGS.role] === 'probe' && c.status === 'FINISHED' && c.metrics[TABLE_METRICS.top1] !== undefined)
    .sort((a, b) => b.startTime - a.startTime);
  const source = probes[0] ?? (row.metrics[TABLE_METRICS.top1] !== undefined ? row : undefined);
  if (!source) return undefined;
  const pretrain = children.filter((c) => c.tags[TABLE_TAGS.role] === 'pretrain' && c.status === 'FINISHED');
  return {
    row,
    sources: [...new Set([row, ...pretrain, source])],
    seed: row.tags[TABLE_TAGS.seed] ?? source.tags[TABLE_TAGS.seed] ?? '?',
    probe: source.tags[TABLE_TAGS.probe] ?? row.tags[TABLE_TAGS.probe] ?? 'unspecified',
    top1: fraction(source, TABLE_METRICS.top1)!,
    top5: fraction(source, TABLE_METRICS.top5),
    finalTop1: fraction(source, TABLE_METRICS.finalTop1),
  };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function provenanceOf(sources: TrackedRun[], staleness: Staleness | undefined): CellProvenance {
  const commits = [...new Set(sources.map((r) => r.tags[COMMIT_TAG]).filter((c): c is string => !!c))].sort();
  const untagged = sources.filter((r) => !r.tags[COMMIT_TAG]).length;
  if (!staleness) return { commits, untagged, changed: [], unknown: [] };
  const answers = commits.map((c) => [c, staleness(c)] as const);
  const changed = answers.filter(([, a]) => a === true).map(([c]) => c);
  const unknown = answers.filter(([, a]) => a === undefined).map(([c]) => c);
  return { commits, untagged, changed, unknown, stale: changed.length > 0 || unknown.length > 0 || untagged > 0 };
}

interface CellContext {
  rows: TrackedRun[];
  childrenOf: Map<string, TrackedRun[]>;
  staleness?: Staleness;
  level: number;
}

function cell(spec: TableRowSpec, column: Column, paper: PaperRow | undefined, ctx: CellContext): CellResult {
  const variant: Variant = spec.variants.includes('baseline') && column === 'original' ? 'baseline' : column;
  const base: CellResult = {
    state: 'n/a',
    paper: paper?.top1[column],
    n: 0,
    seeds: [],
    values: [],
    runIds: [],
    probes: [],
    unfinished: 0,
    provenance: { commits: [], untagged: 0, changed: [], unknown: [] },
  };
  if (!spec.variants.includes(variant)) return base;
  const mine = ctx.rows.filter((r) => r.tags[TABLE_TAGS.method] === spec.method && r.tags[TABLE_TAGS.variant] === variant);
  // One result per seed: the newest finished row run of that seed.
  const bySeed = new Map<string, Outcome>();
  let unfinished = 0;
  for (const r of [...mine].sort((a, b) => a.startTime - b.startTime)) {
    const o = outcomeOf(r, ctx.childrenOf.get(r.id) ?? []);
    if (!o) unfinished++;
    else bySeed.set(o.seed, o);
  }
  const outcomes = [...bySeed.values()].sort((a, b) => a.seed.localeCompare(b.seed, undefined, { numeric: true }));
  if (outcomes.length === 0) return { ...base, state: 'not run', unfinished };
  const values = outcomes.map((o) => o.top1 * 100);
  const top1 = summarize(values, ctx.level);
  const top5 = outcomes.every((o) => o.top5 !== undefined) ? mean(outcomes.map((o) => o.top5! * 100)) : undefined;
  const fin = outcomes.every((o) => o.finalTop1 !== undefined) ? mean(outcomes.map((o) => o.finalTop1! * 100)) : undefined;
  return {
    state: 'ok',
    paper: base.paper,
    n: top1.n,
    mean: top1.mean,
    std: top1.std,
    halfWidth: top1.halfWidth,
    ci: top1.ci,
    top5Mean: top5,
    finalTop1Mean: fin,
    seeds: outcomes.map((o) => o.seed),
    values,
    runIds: outcomes.map((o) => o.row.id),
    probes: [...new Set(outcomes.map((o) => o.probe))],
    unfinished,
    provenance: provenanceOf(outcomes.flatMap((o) => o.sources), ctx.staleness),
  };
}

/**
 * Builds one table per preset (the presets found in row runs, or exactly `options.presets` when given), with
 * per-cell statistics and provenance, and evaluates `options.claims` on each preset.
 */
export function buildResultsTable(runs: readonly TrackedRun[], paper: readonly PaperRow[], options: BuildOptions = {}): ResultsTable {
  const level = options.level ?? CONFIDENCE_LEVEL;
  const rows = runs.filter((r) => r.tags[TABLE_TAGS.role] === 'row');
  const childrenOf = new Map<string, TrackedRun[]>();
  for (const r of runs) if (r.parentId) (childrenOf.get(r.parentId) ?? childrenOf.set(r.parentId, []).get(r.parentId)!).push(r);
  const found = [...new Set(rows.map((r) => r.tags[TABLE_TAGS.preset] ?? '(no preset)'))].sort();
  const presets = options.presets && options.presets.length > 0 ? options.presets : found.length > 0 ? found : ['(no runs)'];
  const paperBy = new Map(paper.map((p) => [p.method, p]));
  return {
    paperDataset: paper.length > 0 ? `${paper[0].dataset}, ${paper[0].model}` : 'none',
    level,
    stalenessChecked: options.staleness !== undefined,
    stalenessDescription: options.staleness?.description,
    presets: presets.map((preset) => {
      const ctx: CellContext = { rows: rows.filter((r) => (r.tags[TABLE_TAGS.preset] ?? '(no preset)') === preset), childrenOf, staleness: options.staleness, level };
      const table: PresetTable = {
        preset,
        rows: TABLE_ROWS.map((spec) => {
          const p = paperBy.get(spec.method);
          const cells = Object.fromEntries(COLUMNS.map((c) => [c, cell(spec, c, p, ctx)])) as Record<Column, CellResult>;
          return { method: spec.method, label: spec.label, epochs: p?.epochs, cells };
        }),
        claims: [],
      };
      table.claims = evaluateClaims(table, options.claims ?? []);
      return table;
    }),
  };
}

const COLUMN_TITLES: Record<Column, string> = { original: 'Original', 'grad-no-mm': 'Grad. w/o mm enc.', 'grad-mm': 'Grad. w/ mm enc.' };
const COLUMN_SHORT: Record<Column, string> = { original: 'original', 'grad-no-mm': 'grad w/o mm', 'grad-mm': 'grad w/ mm' };

/** The marker of a stale cell in Markdown. */
export const STALE_MARK = '†';

function fmtPaper(v: number | undefined): string {
  return v === undefined ? '–' : v.toFixed(1);
}

function pct(level: number): string {
  return `${Math.round(level * 1000) / 10}%`;
}

/** The commits of a cell as the table prints them: 7-character hashes, "no commit tag" for untagged runs. */
export function formatCommits(p: CellProvenance): string {
  const parts = p.commits.map(shortCommit);
  if (p.untagged > 0) parts.push('no commit tag');
  return parts.join(', ');
}

/** "82.00 ± 4.97 (n=3; 0f1e2d3, a1b2c3d)†": mean ± CI half-width (seeds; commits), † when stale. */
export function formatOurs(c: CellResult): string {
  if (c.state === 'n/a') return 'n/a';
  if (c.state === 'not run') return c.unfinished > 0 ? `not run (${c.unfinished} unfinished)` : 'not run';
  const v = c.halfWidth === undefined ? c.mean!.toFixed(2) : `${c.mean!.toFixed(2)} ± ${c.halfWidth.toFixed(2)}`;
  return `${v} (n=${c.n}; ${formatCommits(c.provenance)})${c.provenance.stale ? STALE_MARK : ''}`;
}

function staleFootnote(table: ResultsTable, p: PresetTable): string[] {
  if (!table.stalenessChecked) return [];
  const changed = new Map<string, string[]>();
  const unknown = new Map<string, string[]>();
  const untagged: string[] = [];
  for (const r of p.rows) {
    for (const c of COLUMNS) {
      const pv = r.cells[c].provenance;
      const name = `${r.label} ${r.method.startsWith('baseline') ? '' : COLUMN_SHORT[c]}`.trim();
      for (const h of pv.changed) (changed.get(h) ?? changed.set(h, []).get(h)!).push(name);
      for (const h of pv.unknown) (unknown.get(h) ?? unknown.set(h, []).get(h)!).push(name);
      if (pv.untagged > 0) untagged.push(`${name} (${pv.untagged} of its runs)`);
    }
  }
  if (changed.size + unknown.size + untagged.length === 0) return ['', `No stale cell: every run ran at code unchanged since${table.stalenessDescription ? ` (checked: ${table.stalenessDescription})` : ''}.`];
  const filled = p.rows.reduce((a, r) => a + COLUMNS.filter((c) => r.cells[c].state === 'ok').length, 0);
  const which = (cells: string[]) => (cells.length === filled && filled > 1 ? `all ${filled} cells with results` : cells.join('; '));
  const list = (m: Map<string, string[]>) => [...m].map(([h, cells]) => `\`${shortCommit(h)}\` (${which(cells)})`).join(', ');
  const out = ['', `${STALE_MARK} Stale cells${table.stalenessDescription ? `: ${table.stalenessDescription}` : ''}.`];
  if (changed.size > 0) out.push(`- Code changed since: ${list(changed)}.`);
  if (unknown.size > 0) out.push(`- Commit unknown to this repository, treated as stale: ${list(unknown)}.`);
  if (untagged.length > 0) out.push(`- Run(s) without a commit tag, treated as stale: ${untagged.join('; ')}.`);
  return out;
}

export interface MarkdownOptions {
  /** A paragraph under the header (e.g. "Source: the embedded store, 52 run(s)."). */
  note?: string;
  /** Hand-written Markdown per preset (configs/results-notes/<preset>.md), printed after that preset's claims. */
  presetNotes?: Readonly<Record<string, string>>;
}

/**
 * RESULTS.md: the header, then per preset its table, the stale-cell footnote, the claims section and the preset's
 * notes. `options` may be a string, taken as `note` (the older signature).
 */
export function renderMarkdown(table: ResultsTable, options: string | MarkdownOptions = {}): string {
  const opts: MarkdownOptions = typeof options === 'string' ? { note: options } : options;
  const level = pct(table.level);
  const out: string[] = [
    '# Results',
    '',
    '<!-- Generated by `npm run table`; do not edit by hand. -->',
    '',
    `Linear-probe top-1 (%). "paper" = the UniGrad README (${table.paperDataset}); "ours" = this repository's tracked runs:`,
    `mean ± half-width of the ${level} confidence interval of the mean over seeds (Student t, two-sided, n − 1 degrees of`,
    'freedom; one seed has no interval), then (n = number of seeds; the git commit(s) the runs ran at, 7-character hashes).',
    table.stalenessChecked
      ? `${STALE_MARK} = stale: the code changed since that commit, or the commit is unknown (listed under each table).`
      : 'Staleness was not checked for this table: the commits are shown, but a cell is not marked when its code has changed since.',
    'The datasets and encoders differ, so compare the orderings, not the values.',
    'Baselines have a single number, shown under "Original". "not run" = no finished run with a probe result; "n/a" = no such variant.',
  ];
  if (opts.note) out.push('', opts.note);
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
    out.push(...staleFootnote(table, p));
    out.push(...renderClaimsMarkdown(p.claims, p.preset));
    const note = opts.presetNotes?.[p.preset];
    if (note && note.trim()) out.push('', note.trim());
  }
  return out.join('\n') + '\n';
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * results.csv: one line per preset and row; per column the paper value, our mean, sample std, the interval
 * (half-width, low, high at `ci_level`), top-5, final-epoch top-1, number of seeds and their ids, status, probe,
 * row run ids, full commit hashes ("untagged" for runs without one) and stale (yes / no / empty = not checked).
 */
export function renderCsv(table: ResultsTable): string {
  const head = ['preset', 'method', 'label', 'paper_epochs', 'ci_level'];
  for (const c of COLUMNS) {
    const k = c.replace(/-/g, '_');
    head.push(
      `${k}_paper`, `${k}_ours`, `${k}_ours_std`, `${k}_ci_half`, `${k}_ci_low`, `${k}_ci_high`, `${k}_top5`, `${k}_final_top1`,
      `${k}_seeds`, `${k}_seed_ids`, `${k}_status`, `${k}_probe`, `${k}_run_ids`, `${k}_commits`, `${k}_stale`,
    );
  }
  const lines = [head.join(',')];
  const num = (v: number | undefined, d: number) => (v === undefined ? '' : v.toFixed(d));
  for (const p of table.presets) {
    for (const r of p.rows) {
      const f = [p.preset, r.method, r.label, r.epochs === undefined ? '' : String(r.epochs), String(table.level)];
      for (const c of COLUMNS) {
        const x = r.cells[c];
        const commits = [...x.provenance.commits, ...(x.provenance.untagged > 0 ? ['untagged'] : [])];
        f.push(
          num(x.paper, 1), num(x.mean, 4), num(x.std, 4), num(x.halfWidth, 4), num(x.ci?.[0], 4), num(x.ci?.[1], 4), num(x.top5Mean, 4), num(x.finalTop1Mean, 4),
          String(x.n), x.seeds.join(' '), x.state, x.probes.join(' '), x.runIds.join(' '), commits.join(' '),
          x.provenance.stale === undefined ? '' : x.provenance.stale ? 'yes' : 'no',
        );
      }
      lines.push(f.map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars of our top-1 per row and column (whiskers = the t-interval of the mean), paper values as ticks, one panel per preset. */
export function renderSvg(table: ResultsTable): string {
  const colors: Record<Column, string> = { original: '#4c78a8', 'grad-no-mm': '#f58518', 'grad-mm': '#54a24b' };
  const labelW = 170;
  const plotW = 400;
  const barH = 7;
  const rowH = 3 * barH + 8;
  const x = (pct: number) => labelW + (Math.max(0, Math.min(100, pct)) / 100) * plotW;
  const parts: string[] = [];
  let y = 24;
  parts.push(`<text x="${labelW}" y="14" font-size="11">Linear-probe top-1 (%): bars = ours (mean, whisker = ${pct(table.level)} CI${table.stalenessChecked ? `, ${STALE_MARK} = stale` : ''}), ticks = paper</text>`);
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
          if (cl.ci !== undefined) {
            parts.push(`<line x1="${x(cl.ci[0]).toFixed(1)}" x2="${x(cl.ci[1]).toFixed(1)}" y1="${cy + barH / 2}" y2="${cy + barH / 2}" stroke="#000"/>`);
          }
          parts.push(`<text x="${(x(cl.mean!) + 3).toFixed(1)}" y="${cy + barH - 1}" font-size="7">${cl.mean!.toFixed(1)}${cl.provenance.stale ? STALE_MARK : ''}</text>`);
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
