// Writing the results table: RESULTS.md, results.csv and results.svg from tracked runs, as one library call
// (used by `npm run table` and by `reproduce`). The rendering is pure (results-table.ts); this file does the I/O.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@unigrad/core';
import { formatClaimsText, type Claim } from './claims';
import { readPaperResults, type PaperRow } from './paper';
import { gitStaleness, type Staleness } from './provenance';
import { buildResultsTable, renderCsv, renderMarkdown, renderSvg, type ResultsTable } from './results-table';
import { workspaceRoot } from './store';
import type { TrackedRun } from './types';

/** The three files writeResults writes, in `out`. */
export const RESULT_FILES = ['RESULTS.md', 'results.csv', 'results.svg'] as const;

export interface WriteResultsOptions {
  /** Every run of the source (row runs and their children; other runs are ignored), e.g. from listRuns(). */
  runs: readonly TrackedRun[];
  /** Directory to write the three files to (default: the workspace root). */
  out?: string;
  /** Exactly these presets (default: every preset in the runs, so one preset's run never drops another's table). */
  presets?: string[];
  /** Pre-registered claims to judge on each preset: pass CLAIMS from configs/claims.ts (default: none). */
  claims?: readonly Claim[];
  /**
   * Staleness check of the commits the runs ran at. Default: gitStaleness() on the workspace repository (if git
   * cannot be asked, the table says staleness was not checked and `warnings` says why); false: do not check.
   */
  staleness?: Staleness | false;
  /** Markdown per preset printed after its claims (default: configs/results-notes/<preset>.md where it exists). */
  notes?: Readonly<Record<string, string>>;
  /** Markdown sections appended after every preset (default: docs/grad-compare/<name>/grad-compare.md, the generated gradient-equivalence measurements). */
  appendix?: readonly string[];
  /** Where the runs came from, for the header: e.g. "the embedded store (/path/tracking-store)". */
  sourceLabel?: string;
  /** The paper's numbers (default: configs/paper-results.csv). */
  paper?: readonly PaperRow[];
}

export interface WriteResultsResult {
  table: ResultsTable;
  /** Absolute paths written. */
  files: string[];
  /** One line for a terminal: runs, filled cells, presets, where the files went. */
  summary: string;
  /** The claim verdicts with their numbers, as lines for a terminal (empty without claims). */
  claimsText: string[];
  /** Anything that made the output less than complete (e.g. staleness not checked, and why). */
  warnings: string[];
}

/** configs/results-notes/<preset>.md of each preset that has one (the hand-written reading of its table). */
export function readPresetNotes(presets: readonly string[], dir = join(workspaceRoot(), 'configs', 'results-notes')): Record<string, string> {
  const notes: Record<string, string> = {};
  for (const preset of presets) {
    const path = join(dir, `${preset}.md`);
    if (existsSync(path)) notes[preset] = readFileSync(path, 'utf8');
  }
  return notes;
}

/** The generated sections of `npm run grad-compare` committed under docs/grad-compare/<name>/, in name order. */
export function readGradCompareSections(dir = join(workspaceRoot(), 'docs', 'grad-compare')): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name, 'grad-compare.md'))
    .filter((path) => existsSync(path))
    .map((path) => readFileSync(path, 'utf8'));
}

/**
 * Builds the table (statistics, provenance, claim verdicts) and writes RESULTS.md, results.csv and results.svg
 * into `out`. All three are rendered before any is written, and each is written atomically (temp file + rename),
 * so a failure never leaves a half-written file. Returns the table and lines to print.
 */
export function writeResults(options: WriteResultsOptions): WriteResultsResult {
  const out = options.out ?? workspaceRoot();
  const warnings: string[] = [];
  let staleness: Staleness | undefined;
  if (options.staleness === undefined) {
    try {
      staleness = gitStaleness();
    } catch (err) {
      warnings.push(`staleness not checked: git could not be asked (${(err as Error).message.split('\n')[0]})`);
    }
  } else if (options.staleness !== false) staleness = options.staleness;
  const table = buildResultsTable(options.runs, options.paper ?? readPaperResults(), { presets: options.presets, claims: options.claims, staleness });
  const presets = table.presets.map((p) => p.preset);
  const note = options.sourceLabel ? `Source: ${options.sourceLabel}, ${options.runs.length} run(s).` : `${options.runs.length} run(s).`;
  const rendered: Array<[string, string]> = [
    ['RESULTS.md', renderMarkdown(table, { note, presetNotes: options.notes ?? readPresetNotes(presets) }) + (options.appendix ?? readGradCompareSections()).map((section) => `\n${section.trimEnd()}\n`).join('')],
    ['results.csv', renderCsv(table)],
    ['results.svg', renderSvg(table)],
  ];
  const files = rendered.map(([name, text]) => {
    const path = join(out, name);
    writeFileAtomic(path, text);
    return path;
  });
  const cells = table.presets.flatMap((p) => p.rows.flatMap((r) => Object.values(r.cells)));
  const filled = cells.filter((c) => c.state === 'ok').length;
  const stale = cells.filter((c) => c.state === 'ok' && c.provenance.stale).length;
  const from = options.sourceLabel ?? 'the given runs';
  const staleText = table.stalenessChecked ? `, ${stale} stale` : ', staleness not checked';
  const summary = `${options.runs.length} run(s) from ${from} -> ${filled} filled cell(s)${staleText} in ${presets.length} preset(s); wrote ${RESULT_FILES.join(', ')} in ${out}`;
  const claimsText = table.presets.flatMap((p) => formatClaimsText(p.claims, p.preset));
  return { table, files, summary, claimsText, warnings };
}
