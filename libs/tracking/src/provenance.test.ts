import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { CODE_PATHS, TABLE_GENERATOR_PATHS, executableText, gitStaleness, shortCommit } from './provenance';
import { workspaceRoot } from './store';

// A throwaway repository: commit A, then a prose-only change (B), then a code change (C).
const repo = mkdtempSync(join(tmpdir(), 'provenance-'));
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
function commit(files: Record<string, string | null>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) {
      unlinkSync(join(repo, path));
      continue;
    }
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', message);
  return git('rev-parse', 'HEAD');
}
git('init', '-q');
const A = commit({ 'libs/x/src/a.ts': 'export const a = 1;\n', 'README.md': '# r\n', 'configs/results-notes/fmnist.md': 'n\n', 'data/big.txt': '1\n' }, 'A');
const B = commit({ 'libs/x/README.md': 'docs\n', 'libs/x/src/a.test.ts': 'test\n', 'configs/results-notes/fmnist.md': 'notes changed\n', 'README.md': '# r2\n', 'data/big.txt': '2\n' }, 'B: prose, notes, tests, non-code');
const C = commit({ 'libs/x/src/a.ts': 'export const a = 2;\n' }, 'C: code');

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('gitStaleness', () => {
  it('marks a commit stale only when code under the code paths changed since', () => {
    const stale = gitStaleness({ cwd: repo });
    expect(stale(C)).toBe(false); // HEAD itself
    expect(stale(B)).toBe(true); // C changed libs/x/src/a.ts
    expect(stale(A)).toBe(true);
    expect(stale.description).toMatch(new RegExp(`^code a cell runs \\(libs, apps/experiment, configs, .*\\) differs from HEAD \\(${shortCommit(C)}\\)$`));
  });

  it('ignores *.md, tests, configs/results-notes and directories outside the code paths', () => {
    const atB = gitStaleness({ cwd: repo, against: B });
    expect(atB(A)).toBe(false); // A → B touched only README.md files, a test file, results notes and data/
    expect(atB(B)).toBe(false);
  });

  it('ignores a comment-only edit, but not a change to what the file runs, an added or a deleted file', () => {
    const base = commit({ 'libs/y/src/b.ts': '// why\nexport function b(x: number): number {\n  return x + 1; // one\n}\n', 'libs/y/src/c.ts': 'export const c = 1;\n' }, 'D');
    const comments = commit({ 'libs/y/src/b.ts': '/** Adds one, because. */\nexport function b(x: number): number {\n\n  // one, still\n  return x + 1;\n}\n' }, 'E: comments');
    expect(gitStaleness({ cwd: repo, against: comments })(base)).toBe(false);
    const typesOnly = commit({ 'libs/y/src/b.ts': 'export function b(x: number | bigint): number {\n  return (x as number) + 1;\n}\n' }, 'F: types');
    expect(gitStaleness({ cwd: repo, against: typesOnly })(base)).toBe(false); // types are erased: the same JavaScript runs
    const code = commit({ 'libs/y/src/b.ts': 'export function b(x: number): number {\n  return x + 2;\n}\n' }, 'G: code');
    expect(gitStaleness({ cwd: repo, against: code })(typesOnly)).toBe(true);
    const templ = commit({ 'libs/y/src/c.ts': 'export const c = `${1}  a`;\n' }, 'H');
    const templSpace = commit({ 'libs/y/src/c.ts': 'export const c = `${1} a`;\n' }, 'I: a string literal changes, not whitespace');
    expect(gitStaleness({ cwd: repo, against: templSpace })(templ)).toBe(true);
    const added = commit({ 'libs/y/src/d.ts': '// only a comment\n' }, 'J: new file');
    expect(gitStaleness({ cwd: repo, against: added })(templSpace)).toBe(true);
    const deleted = commit({ 'libs/y/src/d.ts': null }, 'K: file removed');
    expect(gitStaleness({ cwd: repo, against: deleted })(added)).toBe(true);
  });

  it('counts the dependency pins and the backend build, not the other apps and tools', () => {
    const base = commit({ 'package-lock.json': '{"v":1}\n', 'tools/setup-native.sh': 'echo 1\n', 'tools/bench-x.ts': 'export const x = 1;\n', 'apps/pretrain/src/main.ts': 'export {};\n' }, 'L');
    const others = commit({ 'tools/bench-x.ts': 'export const x = 2;\n', 'apps/pretrain/src/main.ts': 'export const y = 1;\n' }, 'M: bench and pretrain app');
    expect(gitStaleness({ cwd: repo, against: others })(base)).toBe(false);
    const lock = commit({ 'package-lock.json': '{"v":2}\n' }, 'N: dependency pins');
    expect(gitStaleness({ cwd: repo, against: lock })(others)).toBe(true);
    const native = commit({ 'tools/setup-native.sh': 'echo 2\n' }, 'O: backend build');
    expect(gitStaleness({ cwd: repo, against: native })(lock)).toBe(true);
    const compiler = commit({ 'tsconfig.base.json': '{"compilerOptions":{"target":"es2020"}}\n' }, 'O2: compiler options');
    expect(gitStaleness({ cwd: repo, against: compiler })(native)).toBe(true);
    const install = commit({ '.npmrc': 'omit=optional\n' }, 'O3: install settings');
    expect(gitStaleness({ cwd: repo, against: install })(compiler)).toBe(true);
  });

  it("does not count the table's own generator", () => {
    const base = commit({ 'libs/tracking/src/claims.ts': 'export const rule = 1;\n', 'configs/claims.ts': 'export const CLAIMS = [];\n', 'libs/tracking/src/results-table.ts': 'export const TABLE_TAGS = {};\n' }, 'P');
    const judged = commit({ 'libs/tracking/src/claims.ts': 'export const rule = 2;\n', 'configs/claims.ts': 'export const CLAIMS = [1];\n' }, 'Q: claims and verdicts');
    expect(gitStaleness({ cwd: repo, against: judged })(base)).toBe(false);
    const tags = commit({ 'libs/tracking/src/results-table.ts': 'export const TABLE_TAGS = { a: 1 };\n' }, 'R: what a cell logs');
    expect(gitStaleness({ cwd: repo, against: tags })(judged)).toBe(true);
  });

  it('compares scripts by the JavaScript they compile to', () => {
    expect(executableText('const a = 1; // x\n', 'a.ts')).toBe(executableText('/* y */\nconst a = 1;\n', 'a.ts'));
    expect(executableText('const a = 1;\n', 'a.ts')).not.toBe(executableText('const a = 2;\n', 'a.ts'));
  });

  it('answers undefined for a commit the repository does not have, or a malformed one', () => {
    const stale = gitStaleness({ cwd: repo });
    expect(stale('deadbeefdeadbeefdeadbeefdeadbeefdeadbeef')).toBeUndefined();
    expect(stale('not a hash; rm -rf /')).toBeUndefined();
    expect(stale(shortCommit(B))).toBe(true); // a short hash is fine
  });

  it('refuses a directory that is not a git repository', () => {
    const plain = mkdtempSync(join(tmpdir(), 'not-a-repo-'));
    try {
      expect(() => gitStaleness({ cwd: plain })).toThrow();
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});

// The premises of CODE_PATHS and TABLE_GENERATOR_PATHS, checked against real `reproduce` processes: a cell runs in
// one, so what it loads is what can change a cell's number.
type CallCounts = Map<number, { name: string; count: number }>; // by function start offset
interface ProcessRecord {
  /** Workspace files (relative paths, node_modules left out) in require.cache when the process exited. */
  loaded: string[];
  /** V8 coverage: per workspace script, its functions' call counts. */
  calls: Map<string, CallCounts>;
}

function runReproduce(root: string, args: string[]): ProcessRecord {
  const dir = mkdtempSync(join(tmpdir(), 'reproduce-record-'));
  try {
    const coverage = join(dir, 'coverage');
    const out = join(dir, 'loaded.json');
    const preload = join(dir, 'preload.js');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
    execFileSync(process.execPath, ['-r', preload, join(root, 'node_modules/ts-node/dist/bin.js'), '--transpile-only', 'apps/experiment/src/reproduce.ts', ...args], {
      cwd: root,
      stdio: 'ignore',
      timeout: 240_000,
      env: { ...process.env, NODE_V8_COVERAGE: coverage },
    });
    const inWorkspace = (file: string) => relative(root, file).split(sep).join('/');
    const loaded = (JSON.parse(readFileSync(out, 'utf8')) as string[]).map(inWorkspace).filter((f) => !f.startsWith('..') && !f.startsWith('node_modules/'));
    type Fn = { functionName: string; ranges: { startOffset: number; count: number }[] };
    const calls = new Map<string, CallCounts>();
    for (const name of readdirSync(coverage).filter((f) => f.endsWith('.json'))) {
      for (const entry of (JSON.parse(readFileSync(join(coverage, name), 'utf8')) as { result: { url: string; functions: Fn[] }[] }).result) {
        if (!entry.url.startsWith('file://')) continue;
        calls.set(inWorkspace(new URL(entry.url).pathname), new Map(entry.functions.map((f) => [f.ranges[0].startOffset, { name: f.functionName || '(anonymous)', count: f.ranges[0].count }])));
      }
    }
    return { loaded, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const root = workspaceRoot();
let listed: ProcessRecord | undefined;
/** `reproduce --list`: loads every module a cell process loads (all imports are static) and runs no cell. */
const listRun = () => (listed ??= runReproduce(root, ['--list']));

describe('CODE_PATHS covers what a cell process loads', () => {
  it('every workspace source a real reproduce process loads lies under CODE_PATHS', () => {
    const { loaded } = listRun();
    expect(loaded).toContain('apps/experiment/src/reproduce.ts');
    expect(loaded).toContain('libs/engine/src/train.ts');
    const outside = loaded.filter((file) => !CODE_PATHS.some((p) => file === p || file.startsWith(`${p}/`)));
    expect(outside).toEqual([]);
  }, 180_000);
});

describe('TABLE_GENERATOR_PATHS are not cell code', () => {
  const scripts = TABLE_GENERATOR_PATHS.filter((p) => p.endsWith('.ts'));

  it('a real dry-run cell calls none of their functions beyond what loading them does (V8 coverage)', () => {
    const atLoad = listRun().calls;
    const cell = runReproduce(root, ['--preset', 'quick', '--rows', 'simclr:grad-mm', '--seeds', '1', '--dry-run', '--no-table']).calls;
    const trained = [...(cell.get('libs/engine/src/train.ts') ?? new Map()).values()].filter((f) => f.count > 0);
    expect(trained.length).toBeGreaterThan(1); // the cell did train
    for (const file of scripts) {
      expect(cell.has(file), `${file} is loaded by the cell process`).toBe(true);
      const loading = atLoad.get(file) ?? new Map();
      const extra = [...cell.get(file)!.entries()].filter(([start, f]) => f.count > (loading.get(start)?.count ?? 0)).map(([, f]) => f.name);
      expect(extra, `functions of ${file} called by the cell`).toEqual([]);
    }
  }, 360_000);

  it('their top level only declares, so loading them into a cell process changes nothing', () => {
    const problems = scripts.flatMap((file) => topLevelOf(file).problems);
    expect(problems).toEqual([]);
    // The check itself: a statement, a call to another module and a mutation are each caught.
    const probe = (text: string) => topLevelOf('probe.ts', text).problems;
    expect(probe("import { f } from './f';\nconst a = f();\n")).toHaveLength(1);
    expect(probe('process.env.X = "1";\n')).toHaveLength(1);
    expect(probe('const a = [1];\na.push(2);\n')).toHaveLength(1);
    expect(probe('const a = [1];\nconst b = a.splice(0);\n')).toHaveLength(1);
    expect(probe("import './register';\n")).toHaveLength(1);
    expect(probe("export * from './x';\n")).toHaveLength(1);
    expect(probe('function f() {\n  process.env.A = "1";\n}\nexport const A = f();\n')).toHaveLength(1); // a local function's body
    expect(probe("import { x } from './x';\nconst L = [1];\nconst M = L.map(() => x.mutate());\n")).toHaveLength(1); // a callback's body
    expect(probe("import { registry } from './r';\nconst R = registry;\nconst a = R.find(() => true);\n")).toHaveLength(1); // not an array literal
    expect(probe('const c = { n: 0 };\nconst d = c.n++;\nconst e = delete (c as { n?: number }).n;\n')).toHaveLength(2);
    expect(probe("const k = require('@unigrad/core');\n")).toHaveLength(1);
    expect(probe("const g = (x: number) => ({ x });\nexport const A = [g(1)] as const;\nconst j = require('jstat');\nconst B = A.map((x) => x.x);\n")).toEqual([]);
    expect(topLevelOf('probe.ts', 'export const { a, b: [c] } = { a: 1, b: [2] };\nexport { d };\n').exported).toEqual(['a', 'c', 'd']);
  });

  it('nothing else a cell process loads refers to what they export (only the barrels, the table renderer and reproduce after its cells)', () => {
    const exported = new Set(scripts.flatMap((file) => topLevelOf(file).exported));
    expect(exported.size).toBeGreaterThan(10);
    expect(exported).toContain('TABLE_GENERATOR_PATHS');
    const allowed = new Set([...scripts, 'libs/tracking/src/index.ts', 'configs/index.ts', 'libs/tracking/src/results-table.ts', 'apps/experiment/src/reproduce.ts']);
    const sources = listRun().loaded.filter((f) => !allowed.has(f));
    expect(sources.length).toBeGreaterThan(50);
    const refs: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const name of exported) if (new RegExp(`\\b${name}\\b`).test(text)) refs.push(`${file}: ${name}`);
    }
    expect(refs).toEqual([]);
  }, 180_000);
});

/**
 * A source file's exported names and what its top level does besides declaring. Allowed: imports that bind names,
 * named re-exports, function, interface and type declarations, and constants whose initialisers call only functions
 * declared in the same file (whose bodies are then checked the same way), non-mutating methods of the file's own
 * array constants (their callbacks checked too), or `require` of an npm package. Anything else that runs at load
 * (a statement, another module's function, `new`, an assignment, `++`, `delete`) is a problem.
 */
function topLevelOf(file: string, text = readFileSync(join(root, file), 'utf8')): { exported: string[]; problems: string[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const exported: string[] = [];
  const problems: string[] = [];
  const functions = new Map<string, ts.Node>(); // name → body, for functions declared here
  const arrays = new Set<string>(); // top-level consts initialised with an array literal
  const PURE_ARRAY_METHODS = new Set(['map', 'filter', 'flatMap', 'slice', 'concat', 'join', 'includes', 'some', 'every', 'find']);
  const isExported = (node: ts.Node) => ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const unwrap = (e: ts.Expression): ts.Expression => (ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e) ? unwrap(e.expression) : e);
  const names = (n: ts.BindingName): string[] => (ts.isIdentifier(n) ? [n.text] : n.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : names(e.name))));
  for (const statement of source.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name && statement.body) functions.set(statement.name.text, statement.body);
    if (ts.isVariableStatement(statement))
      for (const d of statement.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !d.initializer) continue;
        const init = unwrap(d.initializer);
        if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) functions.set(d.name.text, init.body);
        if (statement.declarationList.flags & ts.NodeFlags.Const && ts.isArrayLiteralExpression(init)) arrays.add(d.name.text);
      }
  }
  const checked = new Set<ts.Node>();
  const check = (node: ts.Node, where: string): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const arg = node.arguments[0];
      const npmRequire = ts.isIdentifier(callee) && callee.text === 'require' && node.arguments.length === 1 && ts.isStringLiteral(arg) && !/^(\.|\/|@unigrad\/)/.test(arg.text);
      const ownFunction = ts.isIdentifier(callee) ? functions.get(callee.text) : undefined;
      const arrayMethod = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && arrays.has(callee.expression.text) && PURE_ARRAY_METHODS.has(callee.name.text);
      if (ownFunction && !checked.has(ownFunction)) {
        checked.add(ownFunction);
        check(ownFunction, `${where} → ${callee.getText()}`);
      } else if (!npmRequire && !ownFunction && !arrayMethod) problems.push(`${file}: ${where} calls ${callee.getText()}`);
    } else if (ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node) || ts.isAwaitExpression(node) || ts.isDeleteExpression(node)) {
      problems.push(`${file}: ${where} runs ${node.getText().slice(0, 40)}`);
    } else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && [ts.SyntaxKind.PlusPlusToken, ts.SyntaxKind.MinusMinusToken].includes(node.operator)) {
      problems.push(`${file}: ${where} increments ${node.operand.getText()}`);
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
      problems.push(`${file}: ${where} assigns ${node.left.getText()}`);
    }
    node.forEachChild((child) => check(child, where)); // nested callbacks too: an array method calls them
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (!statement.importClause) problems.push(`${file}: ${statement.getText()} is imported for its effects`);
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isFunctionDeclaration(statement)) {
      if (statement.name && isExported(statement)) exported.push(statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (isExported(statement)) exported.push(...names(d.name));
        const init = d.initializer && unwrap(d.initializer);
        if (init && !ts.isArrowFunction(init) && !ts.isFunctionExpression(init)) check(init, d.name.getText()); // a declared function's body runs only if called
      }
    } else if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      exported.push(...statement.exportClause.elements.map((e) => e.name.text));
    } else problems.push(`${file}: top-level ${ts.SyntaxKind[statement.kind]}: ${statement.getText().slice(0, 60)}`);
  }
  return { exported, problems };
}
