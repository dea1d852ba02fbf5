// Provenance of table cells: has the code a run ran at changed since? The table itself stays pure and asks a
// `Staleness` function; `gitStaleness` is the implementation the table CLI (and `reproduce`) use, with git.
import { execFileSync } from 'node:child_process';
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

/** What counts as code for staleness: every source directory, but not prose, the hand-written table notes or tests (none of them runs in a cell). */
export const CODE_PATHS = ['libs', 'apps', 'configs', 'experiments', 'tools'] as const;
export const NON_CODE_PATHS = ['configs/results-notes', '*.md', '*.test.ts', '*.test.mts'] as const;

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
 * Staleness by `git diff --quiet <commit> <against> -- <paths> :(exclude)<pattern>...` (git wildcards: `*.md`
 * matches at any depth): exit 0 → unchanged,
 * exit 1 → changed; a commit git does not know (or any other git failure) → undefined. Answers are cached per
 * commit. Throws when `cwd` is not a git repository or `against` does not resolve, so a broken setup is not
 * silently reported as "every cell stale".
 */
export function gitStaleness(options: GitStalenessOptions = {}): Staleness {
  const cwd = options.cwd ?? workspaceRoot();
  const against = options.against ?? 'HEAD';
  const paths = [...(options.paths ?? CODE_PATHS)];
  const exclude = [...(options.exclude ?? NON_CODE_PATHS)];
  const head = git(cwd, ['rev-parse', '--verify', `${against}^{commit}`]);
  const cache = new Map<string, boolean | undefined>();
  const check = (commit: string): boolean | undefined => {
    if (cache.has(commit)) return cache.get(commit);
    let answer: boolean | undefined;
    if (!/^[0-9a-f]{4,40}$/i.test(commit)) answer = undefined;
    else {
      try {
        git(cwd, ['cat-file', '-e', `${commit}^{commit}`]);
        try {
          execFileSync('git', ['diff', '--quiet', commit, head, '--', ...paths, ...exclude.map((e) => `:(exclude)${e}`)], {
            cwd,
            stdio: 'ignore',
            timeout: 30_000,
          });
          answer = false;
        } catch (err) {
          answer = (err as { status?: number }).status === 1 ? true : undefined;
        }
      } catch {
        answer = undefined;
      }
    }
    cache.set(commit, answer);
    return answer;
  };
  return Object.assign(check, {
    description: `code under ${paths.join(', ')} (not ${exclude.join(', ')}) differs from ${against} (${shortCommit(head)})`,
  });
}
