// `npm run mlflow:sync [-- --tracking-uri URL] [--store DIR] [--quiet]`: replays the embedded run store into an
// MLflow server (default MLFLOW_TRACKING_URI, else http://127.0.0.1:5000). Safe to re-run: nothing is sent twice.
// Prints one line per run; an artifact whose copy is not in the store (checkpoints are not committed) is a
// warning. Exit 0 when every run is on the server, 1 when some run could not be delivered or the server is
// unreachable, 2 for bad arguments.
import { defaultStoreDir, syncStore } from '@unigrad/tracking';
import { existsSync } from 'node:fs';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

async function main(): Promise<number> {
  const known = new Set(['--tracking-uri', '--store', '--quiet']);
  for (const [i, a] of process.argv.slice(2).entries()) {
    const prev = process.argv[i + 1];
    if (a.startsWith('--') && !known.has(a.split('=')[0])) {
      console.error(`mlflow:sync: unknown option '${a}' (usage: npm run mlflow:sync -- [--tracking-uri URL] [--store DIR] [--quiet])`);
      return 2;
    }
    if (!a.startsWith('--') && prev !== '--tracking-uri' && prev !== '--store') {
      console.error(`mlflow:sync: unexpected argument '${a}'`);
      return 2;
    }
  }
  const trackingUri = arg('tracking-uri') ?? process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000';
  const storeDir = arg('store') ?? defaultStoreDir();
  const quiet = process.argv.includes('--quiet');
  if (!existsSync(storeDir)) {
    console.error(`mlflow:sync: no run store at ${storeDir} (pass --store DIR or set UNIGRAD_TRACKING_DIR).`);
    return 2;
  }
  console.log(`mlflow:sync: ${storeDir} -> ${trackingUri}`);
  try {
    const s = await syncStore({
      storeDir,
      trackingUri,
      log: (m) => console.warn(m),
      retry: { deadlineMs: 20_000 },
      onProgress: (p) => {
        if (quiet && !p.error) return;
        const width = String(p.total).length;
        const where = p.error ? `FAILED: ${p.error}` : p.busy ? 'busy (another process is delivering it)' : p.requests > 0 ? `${p.requests} request(s)` : 'up to date';
        const warn = p.warnings.length > 0 ? `, ${p.warnings.length} warning(s)` : '';
        console.log(`[${String(p.index).padStart(width)}/${p.total}] ${p.status.padEnd(8)} ${p.runName} (${p.id} -> ${p.remoteRunId ?? '?'}): ${where}${warn}`);
      },
    });
    if (s.reaped.length > 0) console.log(`mlflow:sync: ${s.reaped.length} run(s) of processes that died without ending them marked KILLED (listed above).`);
    console.log(`mlflow:sync: ${s.runs} run(s) checked, ${s.updated} updated with ${s.requests} request(s), ${s.warnings.length} warning(s).`);
    if (s.busy.length > 0) console.log(`mlflow:sync: ${s.busy.length} run(s) are being delivered by another process right now: ${s.busy.join(', ')}`);
    for (const [name, url] of Object.entries(s.experimentUrls)) console.log(`mlflow:sync: ${name}: ${url}`);
    if (s.failed.length > 0) {
      console.error(`mlflow:sync: ${s.failed.length} run(s) could not be delivered:`);
      for (const f of s.failed) console.error(`  ${f.id}: ${f.error}`);
      return 1;
    }
    return 0;
  } catch (err) {
    const msg = (err as Error).message;
    if (/fetch failed|ECONNREFUSED/.test(msg)) {
      console.error(`mlflow:sync: no MLflow server answers at ${trackingUri}. Start one with \`npm run mlflow\` or pass --tracking-uri. What was sent so far is recorded; re-run to continue.`);
    } else console.error(`mlflow:sync: ${msg}`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
