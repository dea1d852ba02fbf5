import { resolveConfig } from '@unigrad/configs';
import { getExperiment } from '@unigrad/experiments';
import { describe, expect, it } from 'vitest';
import { elementCommand } from './slurm-table';

describe('elementCommand', () => {
  it("runs exactly one cell and seed with node (no npm between SLURM's SIGTERM and the run)", () => {
    const job = { experiment: getExperiment('simclr:grad-mm'), seed: 43, config: resolveConfig({ seed: 43 }) };
    const command = elementCommand('/shared/ws', job, ['--preset', 'fmnist', '--optim.epochs', '3']);
    expect(command).toMatch(/^exec node '\/shared\/ws\/node_modules\/ts-node\/dist\/bin.js' /);
    expect(command).toContain("'--rows' 'simclr:grad-mm'");
    // the config key --seed (one seed), never --seeds (a bare number there is a count of seeds)
    expect(command).toMatch(/'--seed' '43'$/);
    expect(command).not.toContain('--seeds');
    expect(command).toContain("'--preset' 'fmnist' '--optim.epochs' '3'");
  });
});
