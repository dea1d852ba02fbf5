// Rebuilding the small artifacts of a run from its own event log, for stores whose artifact copies were lost
// (the fmnist table's store was committed with runs/ only). Two artifacts can be rebuilt, the ones the pretrain
// app logs: `config.json` from the run's params (the flattened config) and `metrics.csv` from its metric
// history. Checkpoints can not be rebuilt. The rebuilt files say what they are: the run gets an
// `unigrad.artifacts_rebuilt` tag, and the metrics.csv holds the tracked steps only (every `output.logEvery`).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RunStore } from './store';
import type { TrackedRun } from './types';

export const ARTIFACTS_REBUILT_TAG = 'unigrad.artifacts_rebuilt';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typed(value: string, like: unknown): unknown {
  if (Array.isArray(like)) {
    if (value === '') return [];
    const parts = value.split(',');
    return like.every((x) => typeof x === 'number') ? parts.map(Number) : parts;
  }
  if (typeof like === 'number') return Number(value);
  if (typeof like === 'boolean') return value === 'true';
  if (typeof like === 'string') return value;
  // No template entry: the value's own look.
  if (value === 'true' || value === 'false') return value === 'true';
  if (value !== '' && /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value)) return Number(value);
  return value;
}

/**
 * Inverts a flattening to dotted keys (`model.widths` -> `{ model: { widths } }`) in the params' order. Leaf
 * types come from `template` (e.g. the default config) where it has the key, else from the value's look.
 */
export function unflattenParams(params: Record<string, string>, template?: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const path = key.split('.');
    let node = out;
    let like: unknown = template;
    for (const [i, part] of path.entries()) {
      like = isPlainObject(like) ? like[part] : undefined;
      if (i === path.length - 1) node[part] = typed(value, like);
      else node = (isPlainObject(node[part]) ? node[part] : (node[part] = {})) as Record<string, unknown>;
    }
  }
  return out;
}

/** `step,<metric>,…` with one row per tracked step, metrics in the order they first appear. */
export function metricsCsv(run: TrackedRun): string {
  const history = run.metricHistory ?? {};
  const keys = Object.keys(history);
  const rows = new Map<number, Record<string, number>>();
  for (const key of keys) for (const m of history[key]) (rows.get(m.step) ?? rows.set(m.step, {}).get(m.step)!)[key] = m.value;
  const lines = [['step', ...keys].join(',')];
  for (const step of [...rows.keys()].sort((a, b) => a - b)) {
    const r = rows.get(step)!;
    lines.push([step, ...keys.map((k) => (r[k] === undefined ? '' : String(r[k])))].join(','));
  }
  return lines.join('\n') + '\n';
}

export interface RebuiltArtifact {
  id: string;
  artifactPath: string;
  file: string;
}

export interface RebuildOptions {
  store?: RunStore;
  storeDir?: string;
  /** Gives config.json its value types (pass the default config); without it types are inferred. */
  configTemplate?: unknown;
  /** Also tag each run whose artifacts were rebuilt (default true). */
  tag?: boolean;
}

/** Writes every missing `config.json` / `metrics.csv` artifact copy that the run's events can rebuild. */
export function rebuildMissingArtifacts(options: RebuildOptions = {}): RebuiltArtifact[] {
  const store = options.store ?? new RunStore(options.storeDir);
  const done: RebuiltArtifact[] = [];
  for (const id of store.listRunIds()) {
    const missing = store
      .readEvents(id)
      .flatMap(({ event }) => (event.e === 'artifact' ? [event] : []))
      .filter((a) => !existsSync(join(store.artifactDir(id), ...a.stored.split('/'))));
    const rebuildable = missing.filter((a) => /(^|\/)(config\.json|metrics\.csv)$/.test(a.artifactPath));
    if (rebuildable.length === 0) continue;
    const run = store.readRun(id, true);
    const names: string[] = [];
    for (const a of rebuildable) {
      const file = join(store.artifactDir(id), ...a.stored.split('/'));
      const text = a.artifactPath.endsWith('config.json')
        ? JSON.stringify(unflattenParams(run.params, options.configTemplate), null, 2) + '\n'
        : metricsCsv(run);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      done.push({ id, artifactPath: a.artifactPath, file });
      names.push(a.artifactPath);
    }
    if (options.tag ?? true) {
      const why = `${names.join(', ')} rebuilt from this run's events on ${new Date().toISOString().slice(0, 10)} (the original copies were not kept): config.json from the params, metrics.csv with the tracked steps only`;
      store.appendEvent(id, { e: 'tags', tags: [{ key: ARTIFACTS_REBUILT_TAG, value: why }] });
    }
  }
  return done;
}
