// `npm run mlflow:sync [-- --tracking-uri URL] [--store DIR]`: replays the embedded run store into an MLflow server
// (default MLFLOW_TRACKING_URI, else http://127.0.0.1:5000). Safe to re-run: nothing is sent twice.
import { defaultStoreDir, syncStore } from '@unigrad/tracking';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

async function main(): Promise<void> {
  const trackingUri = arg('tracking-uri') ?? process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000';
  const storeDir = arg('store') ?? defaultStoreDir();
  console.log(`mlflow:sync: ${storeDir} -> ${trackingUri}`);
  try {
    const s = await syncStore({ storeDir, trackingUri, log: (m) => console.warn(m), retry: { deadlineMs: 20_000 } });
    console.log(`mlflow:sync: ${s.runs} run(s) checked, ${s.updated} updated with ${s.requests} request(s).`);
    if (s.busy.length > 0) console.log(`mlflow:sync: ${s.busy.length} run(s) are being delivered by another process right now: ${s.busy.join(', ')}`);
  } catch (err) {
    const msg = (err as Error).message;
    if (/fetch failed|ECONNREFUSED/.test(msg)) {
      console.error(`mlflow:sync: no MLflow server answers at ${trackingUri}. Start one with \`npm run mlflow\` or pass --tracking-uri.`);
    } else console.error(`mlflow:sync: ${msg}`);
    process.exit(1);
  }
}

void main();
