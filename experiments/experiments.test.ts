import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, PRESETS } from '@unigrad/configs';
import { EXPERIMENTS, getExperiment } from './index';

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
    expect(() => getExperiment('unigrad:original')).toThrow(/unknown experiment/);
  });
});
