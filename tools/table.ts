// `npm run table [-- --source embedded|mlflow] [--preset NAME]... [--tracking-uri URL] [--store DIR] [--out DIR]
// [--no-staleness]`: regenerates RESULTS.md, results.csv and results.svg from the tracked runs, with confidence
// intervals, commits/staleness per cell and the verdicts of the claims in configs/claims.ts. A thin CLI around
// writeResults() in @unigrad/tracking.
import { CLAIMS, ConfigError, exitWithError, parseCli } from '@unigrad/configs';
import { defaultStoreDir, listRuns, workspaceRoot, writeResults } from '@unigrad/tracking';
import { relative } from 'node:path';

async function main(): Promise<void> {
  const { flags } = parseCli(process.argv.slice(2), {
    usage: 'npm run table -- [options]',
    summary:
      'Regenerates RESULTS.md, results.csv and results.svg: per cell the mean ± 95% t-interval half-width over seeds, the git ' +
      'commit(s) the runs ran at (stale cells marked with †), and per preset the verdicts of the pre-registered claims in configs/claims.ts.',
    flags: {
      source: { type: 'string', valueName: 'embedded|mlflow', description: 'where to read runs from [embedded]' },
      store: { type: 'string', valueName: 'dir', description: 'embedded store directory [UNIGRAD_TRACKING_DIR or tracking-store/]' },
      'tracking-uri': { type: 'string', valueName: 'url', description: 'MLflow server [MLFLOW_TRACKING_URI or http://127.0.0.1:5000]' },
      preset: { type: 'string', valueName: 'name', multiple: true, description: 'only this preset [every preset in the runs]' },
      out: { type: 'string', valueName: 'dir', description: 'where to write the files [the workspace root]' },
      'no-staleness': { type: 'boolean', description: "do not compare the runs' commits with HEAD (no † marks)" },
    },
    exitCodes: { 1: 'runtime error (store or server unreadable)', 2: 'bad usage' },
  });
  const source = typeof flags.source === 'string' ? flags.source : 'embedded';
  if (source !== 'embedded' && source !== 'mlflow') throw new ConfigError(`--source must be 'embedded' or 'mlflow', got '${source}'`);
  const trackingUri = typeof flags['tracking-uri'] === 'string' ? flags['tracking-uri'] : (process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000');
  const storeDir = typeof flags.store === 'string' ? flags.store : defaultStoreDir();
  const runs = source === 'embedded' ? await listRuns({ source: 'embedded', storeDir }) : await listRuns({ source: 'mlflow', trackingUri });
  const result = writeResults({
    runs,
    out: typeof flags.out === 'string' ? flags.out : undefined,
    presets: (flags.preset as string[] | undefined) ?? [],
    claims: CLAIMS,
    staleness: flags['no-staleness'] ? false : undefined,
    sourceLabel: source === 'embedded' ? `the embedded store (${relative(workspaceRoot(), storeDir) || '.'})` : `the MLflow server ${trackingUri}`,
  });
  for (const w of result.warnings) console.warn(`table: ${w}`);
  console.log(`table: ${result.summary}`);
  for (const line of result.claimsText) console.log(line);
}

main().catch(exitWithError);
