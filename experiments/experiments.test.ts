import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, PRESETS } from '@unigrad/configs';
import { TABLE_ROWS } from '@unigrad/tracking';
import { listExperiments, getExperiment, selectCells, tableRows } from './index';

const EXPERIMENTS = listExperiments();

const root = join(__dirname, '..');
const rootScripts: Record<string, string> = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
const nxTargets: Record<string, unknown> = JSON.parse(readFileSync(join(__dirname, 'package.json'), 'utf8')).nx.targets;

describe('the table of experiments', () => {
  it('has every cell of the paper table and the baselines, once each', () => {
    const paperMethods = ['moco', 'simclr', 'simsiam', 'byol', 'vicreg', 'barlow-twins'];
    const expected = [
      ...paperMethods.flatMap((m) => ['original', 'grad-no-mm', 'grad-mm'].map((v) => `${m}:${v}`)),
      'unigrad:grad-no-mm',
      'unigrad:grad-mm',
      'unigrad-cutmix:grad-mm',
      'baseline-raw:baseline',
      'baseline-random:baseline',
      'baseline-supervised:baseline',
    ];
    expect(EXPERIMENTS.map((e) => e.id).sort()).toEqual([...expected].sort());
  });

  it('each cell has its npm script and Nx target, and nothing else is declared', () => {
    const scripts = Object.keys(rootScripts).filter((s) => s.startsWith('exp:'));
    expect(scripts.sort()).toEqual(EXPERIMENTS.map((e) => `exp:${e.id}`).sort());
    for (const e of EXPERIMENTS) {
      expect(rootScripts[`exp:${e.id}`]).toContain(`--rows ${e.id}`);
      const [row, variant] = e.id.split(':');
      expect(nxTargets[`exp-${row}-${variant}`]).toMatchObject({ cache: false });
    }
  });

  it('every SSL cell resolves to a valid config with the right form and target on every preset', () => {
    for (const e of EXPERIMENTS.filter((x) => x.variant !== 'baseline')) {
      for (const preset of Object.values(PRESETS)) {
        const config = resolveConfig(preset, e.overrides);
        expect(config.form).toBe(e.variant === 'original' ? 'original' : 'grad');
        if (e.variant === 'grad-no-mm') expect(config.target).toBe('no_mm');
        if (e.variant === 'grad-mm') expect(config.target).toBe('mm');
      }
    }
    expect(getExperiment('unigrad-cutmix:grad-mm').overrides.cutmix).toBe(true);
    expect(getExperiment('barlow-twins:grad-no-mm').overrides).toEqual({ method: 'barlow_twins', form: 'grad', target: 'no_mm' });
    expect(() => getExperiment('unigrad:original')).toThrow(/unknown experiment/);
  });
});

describe('derived from the method registry', () => {
  it("the results table's rows are the registry's rows (fails when they drift)", () => {
    expect(tableRows()).toEqual(TABLE_ROWS.map((r) => ({ method: r.method, label: r.label, variants: [...r.variants] })));
  });

  it("every row has its line in configs/paper-results.csv", () => {
    const csv = readFileSync(join(root, 'configs', 'paper-results.csv'), 'utf8');
    for (const row of tableRows().filter((r) => !r.method.startsWith('baseline'))) expect(csv, row.method).toMatch(new RegExp(`^${row.method},`, 'm'));
  });

  it('selects cells by id, row and variant, in table order', () => {
    expect(selectCells('simclr:grad-mm').map((e) => e.id)).toEqual(['simclr:grad-mm']);
    expect(selectCells('unigrad').map((e) => e.id)).toEqual(['unigrad:grad-no-mm', 'unigrad:grad-mm']);
    expect(selectCells('grad-no-mm')).toHaveLength(7);
    expect(selectCells('all')).toHaveLength(24);
    expect(() => selectCells('simclr:grad')).toThrow(/unknown experiment/);
    expect(() => selectCells('mocov3')).toThrow(/matches no cell/);
  });
});
