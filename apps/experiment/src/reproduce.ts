// npm run reproduce -- [--preset quick|fmnist|paper] [--rows all|<id>,<id>,…] [--seeds 2 | 42,43]
//                      [--force] [--list] [--dry-run] [--no-table] [--table-out DIR] [--<config key> <value> …]
// Runs the chosen table cells (pretrain → probe → tracking) for each seed, skips cells already complete for that
// preset and seed in the tracking store (so a table can be built across sittings), then regenerates the table.
import { initBackend } from '@unigrad/core';
import { EXPERIMENTS, getExperiment, type Experiment } from '@unigrad/experiments';
import { exitWithError, formatDuration, parseCommandLine } from '@unigrad/app-pretrain';
import { createTracker, listRuns } from '@unigrad/tracking';
import { execFileSync } from 'node:child_process';
import { isComplete, runCell } from './cell';

/** `all`, a comma list of cell ids (`simclr:grad-mm`), or whole rows (`simclr`) / variants (`grad-mm`). */
export function selectCells(spec: string): Experiment[] {
  if (spec === 'all') return [...EXPERIMENTS];
  const chosen = new Set<Experiment>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part.includes(':')) chosen.add(getExperiment(part));
    else {
      const matches = EXPERIMENTS.filter((e) => e.id.split(':')[0] === part || e.variant === part);
      if (!matches.length) throw new Error(`--rows: '${part}' matches no cell; use 'all', ids like simclr:grad-mm, a row (simclr) or a variant (grad-mm)`);
      matches.forEach((m) => chosen.add(m));
    }
  }
  return EXPERIMENTS.filter((e) => chosen.has(e));
}

/** `--seeds 2` → the config seed and the next one; `--seeds 42,7` → exactly those. */
export function selectSeeds(spec: string | undefined, baseSeed: number): number[] {
  if (!spec) return [baseSeed];
  if (/^\d+$/.test(spec) && !spec.includes(',')) {
    const count = Number(spec);
    if (count < 1 || count > 100) throw new Error(`--seeds ${spec}: a count must be in 1..100 (or give a list like 42,43)`);
    return Array.from({ length: count }, (_, i) => baseSeed + i);
  }
  const seeds = spec.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds ${spec}: expected a count or a comma list of integers`);
  return seeds;
}

const OWN_FLAGS = { withValue: ['rows', 'seeds', 'table-out'], boolean: ['force', 'list', 'no-table'] };

async function main(): Promise<void> {
  const { config: base, flags } = parseCommandLine(process.argv.slice(2), OWN_FLAGS);
  const cells = selectCells(String(flags.rows ?? 'all'));
  const seeds = selectSeeds(typeof flags.seeds === 'string' ? flags.seeds : undefined, base.seed);
  if (flags.list) {
    for (const e of cells) console.log(`${e.id.padEnd(26)} ${e.description}`);
    return;
  }
  await initBackend();
  const tracker = createTracker();
  const done = await listRuns({ source: 'embedded', storeDir: tracker.store.dir });
  const jobs = seeds.flatMap((seed) => cells.map((experiment) => ({ experiment, seed })));
  const todo = jobs.filter(({ experiment, seed }) => flags.force || !isComplete(done, experiment, { ...base, seed }));
  console.log(`[reproduce] preset ${base.preset}: ${jobs.length} cell runs (${cells.length} cells × ${seeds.length} seeds), ${jobs.length - todo.length} already complete, ${todo.length} to run`);

  const started = Date.now();
  let interrupted = false;
  for (const [i, { experiment, seed }] of todo.entries()) {
    const elapsed = (Date.now() - started) / 1000;
    const eta = i > 0 ? formatDuration((elapsed / i) * (todo.length - i)) : '?';
    console.log(`\n[reproduce] (${i + 1}/${todo.length}) ${experiment.id} seed ${seed} — elapsed ${formatDuration(elapsed)}, overall ETA ${eta}`);
    const config = parseCommandLine([...process.argv.slice(2), '--experiment', experiment.id, '--seed', String(seed)], OWN_FLAGS).config;
    const outcome = await runCell(experiment, config, tracker);
    await tracker.flush();
    if (outcome.interrupted) {
      interrupted = true;
      console.log('[reproduce] interrupted: finished cells are kept; run the same command again to continue');
      break;
    }
    console.log(`[reproduce] ${experiment.id} seed ${seed}: probe top-1 ${(100 * outcome.top1).toFixed(2)}% (row run ${outcome.rowRunId})`);
  }
  if (!flags['no-table']) {
    const out = typeof flags['table-out'] === 'string' ? ['--out', flags['table-out']] : [];
    // Every preset in the store, so running one preset never drops another's table from RESULTS.md.
    execFileSync('npx', ['ts-node', '--transpile-only', 'tools/table.ts', '--store', tracker.store.dir, ...out], { stdio: 'inherit' });
  }
  if (interrupted) process.exit(130);
}

if (require.main === module) main().catch(exitWithError);
