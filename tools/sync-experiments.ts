// `npm run experiments:sync [-- --check]`: writes one `exp:<row>:<variant>` npm script (root package.json) and one
// `exp-<row>-<variant>` Nx target (experiments/package.json) per table cell of the method registry, and removes
// the ones of cells that no longer exist. --check only reports drift (exit 1). A test runs the check.
import { writeFileAtomic } from '@unigrad/core';
import { EXIT, exitWithError, parseCli } from '@unigrad/configs';
import { listExperiments } from '@unigrad/experiments';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

export interface ExperimentWiring {
  scripts: Record<string, string>;
  targets: Record<string, unknown>;
}

/** The scripts and targets the registry implies, in table order. */
export function expectedWiring(): ExperimentWiring {
  const scripts: Record<string, string> = {};
  const targets: Record<string, unknown> = {};
  for (const e of listExperiments()) {
    scripts[`exp:${e.id}`] = `ts-node --transpile-only apps/experiment/src/reproduce.ts --rows ${e.id}`;
    targets[`exp-${e.id.replace(':', '-')}`] = { executor: 'nx:run-commands', cache: false, options: { command: `npm run exp:${e.id} --`, cwd: '{workspaceRoot}' } };
  }
  return { scripts, targets };
}

/** Replaces the exp:* scripts / exp-* targets of two package.json objects with the expected ones (other keys kept in place). */
export function applyWiring(rootPkg: { scripts: Record<string, string> }, experimentsPkg: { nx: { targets: Record<string, unknown> } }, wiring: ExperimentWiring): void {
  const keep = <T>(record: Record<string, T>, prefix: string) => Object.fromEntries(Object.entries(record).filter(([k]) => !k.startsWith(prefix)));
  const scripts = keep(rootPkg.scripts, 'exp:');
  const firstOther = Object.keys(rootPkg.scripts).findIndex((k) => k.startsWith('exp:'));
  const entries = Object.entries(scripts);
  const at = firstOther < 0 ? entries.length : firstOther;
  rootPkg.scripts = Object.fromEntries([...entries.slice(0, at), ...Object.entries(wiring.scripts), ...entries.slice(at)]);
  experimentsPkg.nx.targets = { ...wiring.targets, ...keep(experimentsPkg.nx.targets, 'exp-') };
}

function main(): void {
  const { flags } = parseCli(process.argv.slice(2), {
    usage: 'npm run experiments:sync -- [--check]',
    summary: 'Writes the exp:* npm scripts and exp-* Nx targets of every table cell in the method registry.',
    flags: { check: { type: 'boolean', description: 'only report drift; exit 1 when the files are out of date' } },
    exitCodes: { 1: 'drift found (with --check)', [EXIT.usage]: 'bad usage' },
  });
  const rootPath = join(root, 'package.json');
  const experimentsPath = join(root, 'experiments', 'package.json');
  const before = [readFileSync(rootPath, 'utf8'), readFileSync(experimentsPath, 'utf8')];
  const rootPkg = JSON.parse(before[0]);
  const experimentsPkg = JSON.parse(before[1]);
  applyWiring(rootPkg, experimentsPkg, expectedWiring());
  const after = [JSON.stringify(rootPkg, null, 2) + '\n', JSON.stringify(experimentsPkg, null, 2) + '\n'];
  const drifted = after[0] !== before[0] || after[1] !== before[1];
  if (flags.check) {
    console.log(drifted ? 'experiments:sync: package.json scripts / Nx targets are out of date; run `npm run experiments:sync`' : 'experiments:sync: up to date');
    process.exit(drifted ? 1 : 0);
  }
  writeFileAtomic(rootPath, after[0]);
  writeFileAtomic(experimentsPath, after[1]);
  console.log(`experiments:sync: ${Object.keys(expectedWiring().scripts).length} cells; ${drifted ? 'updated' : 'already up to date'}`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    exitWithError(err);
  }
}
