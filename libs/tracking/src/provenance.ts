// Provenance of table cells: has the code a run ran at changed since? The table itself stays pure and asks a
// `Staleness` function; `gitStaleness` is the implementation the table CLI (and `reproduce`) use, with git.
import { execFileSync } from 'node:child_process';
import ts from 'typescript';
import { workspaceRoot } from './store';

/** Tag the tracker sets on every run: the full hash of HEAD when the run started. */
export const COMMIT_TAG = 'mlflow.source.git.commit';

/**
 * true = the code changed since `commit` (the cell is stale), false = unchanged, undefined = cannot tell (e.g. the
 * commit is not in this repository); the table treats undefined as stale and says so. `description` (optional)
 * says what was compared, for the footnote under the table.
 */
export interface Staleness {
  (commit: string): boolean | undefined;
  description?: string;
}

/**
 * What counts as a cell's code for staleness: what a `reproduce` process loads (every library, the experiment app,
 * the configs and the cell definitions; `provenance.test.ts` checks that a real `reproduce` loads nothing from
 * outside these paths), the npm dependency pins and install settings, the shared compiler options ts-node transpiles
 * every cell file with (it reads the tsconfig.json nearest the entry script, `apps/experiment`'s, which extends
 * `tsconfig.base.json`; the root `tsconfig.json` only type-checks), and the scripts that build the TensorFlow backend a cell runs on. Not code: prose, the hand-written
 * table notes and tests. The other apps (`pretrain`, `linear-eval`) and the other tools (benchmarks, table, MLflow
 * and SLURM scripts) are never loaded by a cell process.
 */
export const CODE_PATHS = [
  'libs',
  'apps/experiment',
  'configs',
  'experiments',
  'package.json',
  'package-lock.json',
  '.npmrc',
  'tsconfig.base.json',
  'tools/setup.sh',
  'tools/setup-native.sh',
  'tools/native',
] as const;
export const NON_CODE_PATHS = ['configs/results-notes', '*.md', '*.test.ts', '*.test.mts'] as const;
/**
 * The table's own generator: it reads finished runs and writes the table, its intervals and the claims' verdicts,
 * and a cell never calls it (`reproduce` writes the table after its cells). Excluded so that improving how the
 * table is judged does not mark the cells it judges stale. `provenance.test.ts` checks the three ways they could
 * still reach a cell: a real cell process runs none of their functions, their top level only declares (so loading
 * them changes nothing), and no other cell code refers to what they export.
 * (`results-table.ts` is not here: its TABLE_* constants name the tags and metrics a cell logs.)
 */
export const TABLE_GENERATOR_PATHS = [
  'libs/tracking/src/claims.ts',
  'libs/tracking/src/stats.ts',
  'libs/tracking/src/paper.ts',
  'libs/tracking/src/provenance.ts',
  'libs/tracking/src/results-files.ts',
  'configs/claims.ts',
  'configs/paper-results.csv',
] as const;

/** Sources compared by the JavaScript they compile to, so that a change to comments or blank lines is not a code change. */
const SCRIPT_FILE = /\.(?:[cm]?ts|[cm]?js)$/;

/**
 * The JavaScript a TypeScript or JavaScript source runs as (ts-node --transpile-only runs this same per-file
 * transpile), with comments removed: equal outputs run the same code, so a comment-only edit compares equal. The
 * emitter keeps some of the source's line breaks, so a pure reformatting may still compare unequal (stale: safe).
 */
export function executableText(source: string, fileName: string): string {
  return ts.transpileModule(source, {
    fileName,
    reportDiagnostics: false,
    compilerOptions: { removeComments: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
  }).outputText;
}

export interface GitStalenessOptions {
  /** Repository to ask (default: the workspace root). */
  cwd?: string;
  /** Compare against this revision (default HEAD). */
  against?: string;
  paths?: readonly string[];
  exclude?: readonly string[];
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).toString().trim();
}

/** The short (7-character) form of a commit hash, as the table prints it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

/**
 * Staleness by `git diff --name-only <commit> <against> -- <paths> :(exclude)<pattern>...` (git wildcards: `*.md`
 * matches at any depth): no file listed → unchanged; otherwise changed unless every listed file is a script whose
 * `executableText` is the same at both commits (a comment-only edit); a commit git does not know (or any other git
 * failure) → undefined. Answers are cached per commit. Throws when `cwd` is not a git repository or `against` does
 * not resolve, so a broken setup is not silently reported as "every cell stale".
 */
export function gitStaleness(options: GitStalenessOptions = {}): Staleness {
  const cwd = options.cwd ?? workspaceRoot();
  const against = options.against ?? 'HEAD';
  const paths = [...(options.paths ?? CODE_PATHS)];
  const exclude = [...(options.exclude ?? [...NON_CODE_PATHS, ...TABLE_GENERATOR_PATHS])];
  const head = git(cwd, ['rev-parse', '--verify', `${against}^{commit}`]);
  const cache = new Map<string, boolean | undefined>();
  const check = (commit: string): boolean | undefined => {
    if (cache.has(commit)) return cache.get(commit);
    let answer: boolean | undefined;
    if (!/^[0-9a-f]{4,40}$/i.test(commit)) answer = undefined;
    else {
      try {
        git(cwd, ['cat-file', '-e', `${commit}^{commit}`]);
        const files = git(cwd, ['diff', '--name-only', commit, head, '--', ...paths, ...exclude.map((e) => `:(exclude)${e}`)])
          .split('\n')
          .filter(Boolean);
        answer = files.some((file) => codeChanged(cwd, commit, head, file));
      } catch {
        answer = undefined;
      }
    }
    cache.set(commit, answer);
    return answer;
  };
  return Object.assign(check, {
    description:
      options.paths || options.exclude
        ? `code under ${paths.join(', ')} (not ${exclude.join(', ')}; comments ignored) differs from ${against} (${shortCommit(head)})`
        : `code a cell runs (${paths.join(', ')}; not prose, tests, results notes or the table's generator; comment-only edits ignored; the rule: libs/tracking/src/provenance.ts) differs from ${against} (${shortCommit(head)})`,
  });
}

/** Whether `file` runs differently at `to` than at `from`: added, deleted, renamed, non-script, or other compiled JavaScript. */
function codeChanged(cwd: string, from: string, to: string, file: string): boolean {
  if (!SCRIPT_FILE.test(file)) return true;
  const show = (rev: string): string | undefined => {
    try {
      return git(cwd, ['show', `${rev}:${file}`]);
    } catch {
      return undefined; // not in that commit
    }
  };
  const before = show(from);
  const after = show(to);
  if (before === undefined || after === undefined) return true;
  return executableText(before, file) !== executableText(after, file);
}
