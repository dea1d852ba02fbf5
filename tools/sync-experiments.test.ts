import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METHODS, registerMethod, unregisterMethod } from '@unigrad/losses';
import { describe, expect, it } from 'vitest';
import { applyWiring, expectedWiring } from './sync-experiments';

const root = join(__dirname, '..');
const read = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8'));

describe('npm run experiments:sync', () => {
  it('the committed scripts and Nx targets are what the registry implies (run `npm run experiments:sync` if not)', () => {
    const rootPkg = read('package.json');
    const experimentsPkg = read('experiments/package.json');
    const before = JSON.stringify([rootPkg, experimentsPkg]);
    applyWiring(rootPkg, experimentsPkg, expectedWiring());
    expect(JSON.stringify([rootPkg, experimentsPkg])).toBe(before);
  });

  it("a registered method's cells get their script and target; other scripts stay", () => {
    registerMethod({ ...METHODS.simclr, name: 'toy_sync', rows: [{ row: 'toy_sync', label: 'Toy', cells: [{ variant: 'grad-mm', description: 'toy' }] }] });
    try {
      const rootPkg = read('package.json');
      const experimentsPkg = read('experiments/package.json');
      applyWiring(rootPkg, experimentsPkg, expectedWiring());
      expect(rootPkg.scripts['exp:toy-sync:grad-mm']).toBe('ts-node --transpile-only apps/experiment/src/reproduce.ts --rows toy-sync:grad-mm');
      expect(experimentsPkg.nx.targets['exp-toy-sync-grad-mm']).toMatchObject({ cache: false, options: { command: 'npm run exp:toy-sync:grad-mm --' } });
      expect(rootPkg.scripts.test).toBe('vitest run');
    } finally {
      unregisterMethod('toy_sync');
    }
  });
});
