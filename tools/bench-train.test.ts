// The pure parts of `npm run bench:train` (tools/bench-train-lib.ts): nothing here is timed or trains.
import { describe, expect, it } from 'vitest';
import {
  BUSY,
  describeRecord,
  imagesPerSecond,
  interleavedSchedule,
  loadDuring,
  loadWarning,
  median,
  parsePidStat,
  parseProcStat,
  spread,
  timedSteps,
  trainRecord,
  type LoadSample,
  type SideRounds,
  type Yardstick,
} from './bench-train-lib';

const quiet: LoadSample = { loadavg1: 2.1, foreign_cpu: 0.05, steal_cpu: 0 };
const busy: LoadSample = { loadavg1: 4.5, foreign_cpu: 1.2, steal_cpu: 0 };

function side(name: string, imgs: number[], load: LoadSample = quiet, batch = 256): SideRounds {
  return {
    side: name,
    batch,
    rounds: imgs.map((img, round) => ({ round, img_per_s: img, steps: 10, seconds: (10 * batch) / img, cpu_s: (20 * batch) / img, step_ms: [1000 * (batch / img)], load })),
  };
}

const torchInfo: Yardstick = { source: 'venv', python: '/x/.venv-bench/bin/python', version: '2.15.0', blas: 'mkl', isa: 'AVX512' };

describe('interleavedSchedule', () => {
  it('runs every side once per round and rotates the order each round', () => {
    const s = interleavedSchedule(['node', 'pytorch'], 3);
    expect(s.map((x) => `${x.round}:${x.side}`)).toEqual(['0:node', '0:pytorch', '1:pytorch', '1:node', '2:node', '2:pytorch']);
    const three = interleavedSchedule(['a', 'b', 'c'], 3);
    expect(three.map((x) => x.side).join('')).toBe('abcbcacab');
    // Over the rounds each side goes first once.
    expect(new Set(three.filter((_, i) => i % 3 === 0).map((x) => x.side)).size).toBe(3);
  });

  it('rejects bad input', () => {
    expect(() => interleavedSchedule(['a'], 0)).toThrow(/rounds/);
    expect(() => interleavedSchedule([], 3)).toThrow(/no sides/);
    expect(() => interleavedSchedule(['a', 'a'], 3)).toThrow(/duplicate/);
  });
});

describe('statistics', () => {
  it('median, min and max', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([5, 1, 9, 3])).toEqual({ min: 1, median: 4, max: 9 });
    expect(() => median([])).toThrow();
  });

  it('img/s is batch times steps over the wall time of those steps', () => {
    expect(imagesPerSecond(256, { steps: 20, seconds: 10 })).toBe(512);
  });
});

describe('timedSteps', () => {
  it('runs until the time has passed and at least minSteps steps ran', async () => {
    let clock = 0;
    let calls = 0;
    const step = () => {
      calls++;
      clock += 400; // each step takes 0.4 s of the fake clock
    };
    const r = await timedSteps(step, 2, 3, () => clock, () => (2 * clock) / 1000); // two busy threads
    expect(r.steps).toBe(5); // 2 s / 0.4 s
    expect(r.cpu_s).toBeCloseTo(4);
    expect(r.seconds).toBeCloseTo(2);
    expect(r.step_ms).toEqual([400, 400, 400, 400, 400]);
    expect(calls).toBe(5);
    const slow = await timedSteps(() => void (clock += 5000), 2, 3, () => clock);
    expect(slow.steps).toBe(3); // minSteps wins over the time
  });
});

describe('load sampling', () => {
  it('parses /proc/stat and /proc/<pid>/stat', () => {
    const stat = 'cpu  226648 0 38736 344126 2365 0 1023 6937 0 0\ncpu0 107143 0 16884 181675 665 0 136 3434 0 0\n';
    expect(parseProcStat(stat)).toEqual({ busy: 226648 + 38736 + 1023, steal: 6937 });
    const pid = '32645 (node worker (x)) R 32641 32641 22936 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 1 0 310784 3133440 410';
    expect(parsePidStat(pid)).toBe(1290);
    expect(() => parseProcStat('intr 1 2 3')).toThrow();
  });

  it('foreign CPU = machine busy time minus the measured process, in cores', () => {
    const before = { cpu: { busy: 1000, steal: 10 }, own: 500 };
    const after = { cpu: { busy: 3100, steal: 10 }, own: 2400 }; // 10 s at 100 ticks/s: 2100 busy, 1900 own
    expect(loadDuring(before, after, 10, 100)).toEqual({ foreign_cpu: 0.2, steal_cpu: 0 });
    expect(loadDuring(before, { cpu: { busy: 1000, steal: 10 }, own: 600 }, 1, 100).foreign_cpu).toBe(0); // never negative
  });

  it('warns only when another process took CPU during a side, or by load average without /proc', () => {
    expect(loadWarning([quiet, quiet], 2, 2)).toBeNull();
    expect(loadWarning([quiet, busy], 2, 2)).toMatch(/busy machine: other processes used up to 1\.20 of 2 cores/);
    expect(loadWarning([{ loadavg1: 2 + BUSY.loadAboveOwn + 0.1, foreign_cpu: null, steal_cpu: null }], 2, 2)).toMatch(/load average up to/);
    expect(loadWarning([{ loadavg1: 2.5, foreign_cpu: null, steal_cpu: null }], 2, 2)).toBeNull();
    // A high load average alone is the bench's own threads when /proc says nobody else ran.
    expect(loadWarning([{ loadavg1: 6, foreign_cpu: 0.1, steal_cpu: 0 }], 2, 2)).toBeNull();
    expect(loadWarning([{ loadavg1: 2, foreign_cpu: 0, steal_cpu: 0.5 }], 2, 2)).toMatch(/hypervisor stole/);
    expect(loadWarning([], 2, 2)).toBeNull();
  });
});

describe('trainRecord', () => {
  it('carries the fields the issue asks for, with medians over rounds and the ratio of medians', () => {
    const torch = side('pytorch', [900, 1000, 1100]);
    const node = side('node', [1200, 1500, 1300], busy);
    const rec = trainRecord('convnet', node, { info: torchInfo, rounds: torch }, { threads: 2, cores: 2, secondsPerRound: 10 });
    expect(rec).toMatchObject({
      bench: 'train',
      model: 'convnet',
      batch: 256,
      backend: 'node',
      status: 'ok',
      img_per_s: 1300,
      img_per_s_min: 1200,
      img_per_s_max: 1500,
      pytorch_img_per_s: 1000,
      pytorch_version: '2.15.0',
      pytorch_blas: 'mkl',
      pytorch_isa: 'AVX512',
      pytorch_source: 'venv',
      ratio_to_pytorch: 1.3,
      threads: 2,
      seconds_per_round: 10,
      img_per_cpu_s: 650, // two cores busy: half the wall-clock rate per CPU-second
    });
    expect(rec.rounds).toHaveLength(3);
    expect(rec.rounds[0]).toMatchObject({ round: 0, img_per_s: 1200, steps: 10, loadavg1: 4.5, foreign_cpu: 1.2 });
    expect(rec.load.foreign_cpu).toEqual({ min: 0.05, median: expect.any(Number), max: 1.2 });
    expect(rec.load_warning).toMatch(/busy machine/);
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec);
    expect(describeRecord(rec)).toMatch(/1300\.0 img\/s \(min 1200\.0, max 1500\.0 over 3 rounds\) {2}1\.30x PyTorch/);
  });

  it('without a yardstick the PyTorch fields are null; the yardstick record does not count its rounds twice', () => {
    const node = side('node', [1000, 1000, 1000]);
    const rec = trainRecord('resnet18', node, null, { threads: 2, cores: 2, secondsPerRound: 10 });
    expect(rec).toMatchObject({ pytorch_img_per_s: null, pytorch_version: null, ratio_to_pytorch: null, load_warning: null });
    const torch = side('pytorch', [500, 600, 700]);
    const self = trainRecord('resnet18', torch, { info: torchInfo, rounds: torch }, { threads: 2, cores: 2, secondsPerRound: 10 });
    expect(self.ratio_to_pytorch).toBe(1);
    expect(self.load.loadavg1).toEqual({ min: 2.1, median: 2.1, max: 2.1 });
    expect(describeRecord(self)).not.toMatch(/x PyTorch/);
  });
});
