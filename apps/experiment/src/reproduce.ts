// npm run reproduce -- [--preset quick|fmnist|paper] [--rows all|<id>,<id>,…] [--seeds 2 | 42,43] [--force]
//                      [--list] [--dry-run] [--no-table] [--table-out DIR] [--<config key> <value> …]   (--help)
// Runs the chosen table cells (pretrain → probe → tracking) for each seed, skips cells already complete for that
// preset and seed in the tracking store (so a table can be built across sittings), then regenerates the table.
import { initBackend } from '@unigrad/core';
import { CLAIMS, CONFIG_FLAGS, EXIT, configFromSources, exitWithError, getPreset, parseCli, type CliSpec } from '@unigrad/configs';
import { StopRequest, runTableCells, selectSeeds, type CellJob } from '@unigrad/engine';
import { selectCells } from '@unigrad/experiments';
import { createTracker, listRuns, writeResults } from '@unigrad/tracking';

const { experiment: _experimentFlag, ...configFlags } = CONFIG_FLAGS;
const CLI: CliSpec = {
  usage: 'npm run reproduce -- [options] [--<config key> <value> ...]',
  summary: 'Runs table cells (pretrain → probe → tracking) for each seed, skipping cells already complete in the store, then regenerates the results table.',
  flags: {
    ...configFlags,
    rows: { type: 'string', valueName: 'cells', description: "'all' (default), cell ids (simclr:grad-mm), rows (simclr) or variants (grad-mm), comma-separated" },
    seeds: { type: 'string', valueName: 'n|list', description: 'a count (2 → seed, seed+1) or a list (42,43); default: the config seed' },
    force: { type: 'boolean', description: "rerun cells that are already complete, starting them over (an interrupted cell otherwise resumes from its checkpoint)" },
    list: { type: 'boolean', description: 'list the chosen cells and exit' },
    'no-table': { type: 'boolean', description: 'do not regenerate RESULTS.md / results.csv / results.svg' },
    'table-out': { type: 'string', valueName: 'dir', description: 'write the table files here instead of the workspace root' },
  },
  configKeys: true,
  exitCodes: { [EXIT.runtime]: 'data or runtime error', [EXIT.usage]: 'bad usage or config', [EXIT.sigint]: 'stopped by SIGINT (finished cells kept, the running one checkpointed)', [EXIT.sigterm]: 'stopped by SIGTERM (same)' },
};

async function main(): Promise<void> {
  const { flags, configValues } = parseCli(process.argv.slice(2), CLI);
  const cells = selectCells(typeof flags.rows === 'string' ? flags.rows : 'all');
  const preset = getPreset(typeof flags.preset === 'string' ? flags.preset : 'quick');
  const base = configFromSources({ preset, flags, configValues });
  const seeds = selectSeeds(typeof flags.seeds === 'string' ? flags.seeds : undefined, base.seed);
  if (flags.list) {
    for (const e of cells) console.log(`${e.id.padEnd(26)} ${e.description}`);
    return;
  }
  // Every cell's config is resolved (and so validated) before anything runs.
  const jobs: CellJob[] = seeds.flatMap((seed) =>
    cells.map((experiment) => ({ experiment, seed, config: configFromSources({ preset, experiment: experiment.overrides, flags, configValues, after: [{ seed }] }) })),
  );
  const stop = new StopRequest('reproduce').install();
  await initBackend();
  const tracker = createTracker();
  const done = await listRuns({ source: 'embedded', storeDir: tracker.store.dir });
  const result = await runTableCells({ jobs, tracker, done, force: Boolean(flags.force), stop });
  if (!flags['no-table']) {
    // Every preset in the store, so running one preset never drops another's table from RESULTS.md.
    const table = writeResults({
      runs: await listRuns({ source: 'embedded', storeDir: tracker.store.dir }),
      out: typeof flags['table-out'] === 'string' ? flags['table-out'] : undefined,
      claims: CLAIMS,
      sourceLabel: `the embedded store (${tracker.store.dir})`,
    });
    for (const w of table.warnings) console.warn(`table: ${w}`);
    console.log(`table: ${table.summary}`);
    for (const line of table.claimsText) console.log(line);
  }
  if (result.interrupted) process.exit(stop.requested ? stop.exitCode() : EXIT.sigint);
}

if (require.main === module) main().catch(exitWithError);
