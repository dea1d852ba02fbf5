// `npm run table [-- --source embedded|mlflow] [--preset NAME]... [--tracking-uri URL] [--store DIR] [--out DIR]`:
// regenerates RESULTS.md, results.csv and results.svg from the tracked runs and configs/paper-results.csv.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@unigrad/core';
import { buildResultsTable, defaultStoreDir, listRuns, readPaperResults, renderCsv, renderMarkdown, renderSvg, workspaceRoot } from '@unigrad/tracking';

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1]) out.push(process.argv[i + 1]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

/**
 * The hand-written reading of each preset's table (configs/results-notes/<preset>.md), appended under the tables:
 * what the numbers show and do not show next to the paper's claims. Written by people, kept beside the presets.
 */
function presetNotes(presets: string[]): string {
  return presets
    .map((preset) => join(workspaceRoot(), 'configs', 'results-notes', `${preset}.md`))
    .filter((path) => existsSync(path))
    .map((path) => '\n' + readFileSync(path, 'utf8').trimEnd() + '\n')
    .join('');
}

async function main(): Promise<void> {
  const source = args('source')[0] ?? 'embedded';
  if (source !== 'embedded' && source !== 'mlflow') {
    console.error(`table: --source must be 'embedded' or 'mlflow', got '${source}'.`);
    process.exit(2);
  }
  const trackingUri = args('tracking-uri')[0] ?? process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000';
  const storeDir = args('store')[0] ?? defaultStoreDir();
  const out = args('out')[0] ?? workspaceRoot();
  const runs =
    source === 'embedded' ? await listRuns({ source: 'embedded', storeDir }) : await listRuns({ source: 'mlflow', trackingUri });
  const table = buildResultsTable(runs, readPaperResults(), { presets: args('preset') });
  const from = source === 'embedded' ? `the embedded store (${storeDir})` : `the MLflow server ${trackingUri}`;
  writeFileAtomic(join(out, 'RESULTS.md'), renderMarkdown(table, `Source: ${from}, ${runs.length} run(s).`) + presetNotes(table.presets.map((p) => p.preset)));
  writeFileAtomic(join(out, 'results.csv'), renderCsv(table));
  writeFileAtomic(join(out, 'results.svg'), renderSvg(table));
  const filled = table.presets.flatMap((p) => p.rows.flatMap((r) => Object.values(r.cells))).filter((c) => c.state === 'ok').length;
  console.log(`table: ${runs.length} run(s) from ${from} -> ${filled} filled cell(s) in ${table.presets.length} preset(s); wrote RESULTS.md, results.csv, results.svg in ${out}`);
}

main().catch((err) => {
  console.error(`table: ${(err as Error).message}`);
  process.exit(1);
});
