// `npm run table [-- --source embedded|mlflow] [--preset NAME]... [--tracking-uri URL] [--store DIR] [--out DIR]
// [--no-staleness]`: regenerates RESULTS.md, results.csv and results.svg from the tracked runs, with confidence
// intervals, commits/staleness per cell and the verdicts of the claims in configs/claims.ts. A thin CLI around
// writeResults() in @unigrad/tracking.
import { defaultStoreDir, listRuns, writeResults } from '@unigrad/tracking';
import { CLAIMS } from '../configs/claims';

const USAGE = `Usage: npm run table -- [options]

Regenerates RESULTS.md, results.csv and results.svg: per cell the mean ± 95% t-interval half-width over seeds,
the git commit(s) the runs ran at (stale cells marked with †), and per preset the verdicts of the pre-registered
claims in configs/claims.ts (also printed here).

Options:
  --source embedded|mlflow  where to read runs from (default: embedded)
  --store DIR               embedded store directory (default: UNIGRAD_TRACKING_DIR or tracking-store/)
  --tracking-uri URL        MLflow server (default: MLFLOW_TRACKING_URI or http://127.0.0.1:5000)
  --preset NAME             only this preset (repeatable; default: every preset in the runs)
  --out DIR                 where to write the files (default: the workspace root)
  --no-staleness            do not compare the runs' commits with HEAD (no † marks)
  --help                    print this and exit`;

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1]) out.push(process.argv[i + 1]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const source = args('source')[0] ?? 'embedded';
  if (source !== 'embedded' && source !== 'mlflow') {
    console.error(`table: --source must be 'embedded' or 'mlflow', got '${source}'.\n\n${USAGE}`);
    process.exit(2);
  }
  const trackingUri = args('tracking-uri')[0] ?? process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000';
  const storeDir = args('store')[0] ?? defaultStoreDir();
  const runs =
    source === 'embedded' ? await listRuns({ source: 'embedded', storeDir }) : await listRuns({ source: 'mlflow', trackingUri });
  const result = writeResults({
    runs,
    out: args('out')[0],
    presets: args('preset'),
    claims: CLAIMS,
    staleness: process.argv.includes('--no-staleness') ? false : undefined,
    sourceLabel: source === 'embedded' ? `the embedded store (${storeDir})` : `the MLflow server ${trackingUri}`,
  });
  for (const w of result.warnings) console.warn(`table: ${w}`);
  console.log(`table: ${result.summary}`);
  for (const line of result.claimsText) console.log(line);
}

main().catch((err) => {
  console.error(`table: ${(err as Error).message}`);
  process.exit(1);
});
