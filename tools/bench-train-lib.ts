// The pure parts of `npm run bench:train` (tools/bench-train.ts): the interleaving schedule, statistics over rounds,
// the time-based step loop, the machine-load sample and its warning, and the shape of the --json records.
// No TF.js here, so tools/bench-train.test.ts checks all of it in milliseconds.

/** One timed slot of the schedule: `side` runs its steps for the round's time while every other side waits. */
export interface Slot {
  round: number;
  side: string;
}

/**
 * Rounds in which every side runs once, the order rotated by one each round (A B, B A, A B, … for two sides), so no
 * side always goes first or last: slow drifts of the machine's load fall on both sides alike.
 */
export function interleavedSchedule(sides: readonly string[], rounds: number): Slot[] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be an integer >= 1, got ${rounds}`);
  if (sides.length === 0) throw new Error('interleavedSchedule: no sides');
  if (new Set(sides).size !== sides.length) throw new Error(`interleavedSchedule: duplicate sides in [${sides.join(', ')}]`);
  const slots: Slot[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < sides.length; i++) slots.push({ round, side: sides[(i + round) % sides.length] });
  }
  return slots;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new Error('spread of no values');
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}

export const round1 = (v: number): number => Math.round(v * 10) / 10;
export const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** What one side measured in one round. */
export interface RoundResult {
  /** Timed steps (at least `minSteps`, until `seconds` of step time had passed). */
  steps: number;
  /** Wall time of those steps, seconds. */
  seconds: number;
  /** Per-step times, ms. */
  step_ms: number[];
  /**
   * CPU time of the measuring process (all threads) over those steps, seconds: less sensitive to other load than the
   * wall time (img per CPU-second), though spin-waiting threads count in it.
   */
  cpu_s?: number;
}

/**
 * The time-based loop: runs `step` until at least `seconds` of step time and at least `minSteps` steps have passed.
 * Warm-up is the caller's business (done once, before the first round). `now` is injectable for the tests.
 */
export async function timedSteps(
  step: () => Promise<unknown> | unknown,
  seconds: number,
  minSteps = 3,
  now: () => number = () => performance.now(),
  cpuNow: () => number = () => process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
): Promise<RoundResult> {
  const stepMs: number[] = [];
  let total = 0;
  const cpu0 = cpuNow();
  while (total < seconds * 1000 || stepMs.length < minSteps) {
    const t0 = now();
    await step();
    const dt = now() - t0;
    stepMs.push(dt);
    total += dt;
  }
  return { steps: stepMs.length, seconds: total / 1000, step_ms: stepMs, cpu_s: cpuNow() - cpu0 };
}

/** Source images per second of a round (each image gives two views): batch · steps / wall time. */
export function imagesPerSecond(batch: number, r: Pick<RoundResult, 'steps' | 'seconds'>): number {
  return (batch * r.steps) / r.seconds;
}

// ---------------------------------------------------------------------------------------------------------
// Machine load. The 1-minute load average lags and counts the bench's own threads, so each slot also records the
// CPU time the rest of the machine used while the side ran: Δ(busy CPU of the machine, /proc/stat) − Δ(CPU of the
// measured process and its threads, /proc/<pid>/stat), in cores.

export interface CpuCounters {
  /** Clock ticks the machine's CPUs spent busy (user, nice, system, irq, softirq; not idle, iowait or steal). */
  busy: number;
  /** Ticks stolen by the hypervisor (other VMs on the host). */
  steal: number;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseProcStat(text: string): CpuCounters {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = [...v, 0, 0, 0, 0, 0, 0, 0, 0];
  void idle;
  void iowait;
  return { busy: user + nice + system + irq + softirq, steal };
}

/** utime + stime (ticks, all threads) of one process from /proc/<pid>/stat (the comm field may hold spaces). */
export function parsePidStat(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are rest[11] and rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('cannot parse /proc/<pid>/stat');
  return utime + stime;
}

export interface LoadSample {
  /** 1-minute load average at the end of the slot (includes the measured process itself). */
  loadavg1: number;
  /** Cores' worth of CPU the rest of the machine used during the slot (null where /proc is not readable). */
  foreign_cpu: number | null;
  /** Cores' worth of CPU stolen by the hypervisor during the slot. */
  steal_cpu: number | null;
}

/** foreign_cpu and steal_cpu of a slot from counters before and after it. */
export function loadDuring(
  before: { cpu: CpuCounters; own: number },
  after: { cpu: CpuCounters; own: number },
  seconds: number,
  ticksPerSecond = 100,
): { foreign_cpu: number; steal_cpu: number } {
  const ticks = seconds * ticksPerSecond;
  const busy = after.cpu.busy - before.cpu.busy;
  const own = after.own - before.own;
  return { foreign_cpu: round3(Math.max(0, (busy - own) / ticks)), steal_cpu: round3(Math.max(0, (after.cpu.steal - before.cpu.steal) / ticks)) };
}

/** Thresholds: what counts as a busy machine during a measurement. */
export const BUSY = {
  /** Other processes used more than this many cores while a side ran. */
  foreignCpu: 0.25,
  /** The load average exceeded the bench's own threads by more than this (used when /proc is not readable). */
  loadAboveOwn: 0.75,
};

/**
 * The warning for a set of slot samples, or null on a quiet machine. Busy = another process took more than
 * BUSY.foreignCpu cores during some slot, or (without /proc counters) the load average exceeded the bench's own
 * `threads` by BUSY.loadAboveOwn.
 */
export function loadWarning(samples: readonly LoadSample[], threads: number, cores: number): string | null {
  if (samples.length === 0) return null;
  const foreign = samples.map((s) => s.foreign_cpu).filter((v): v is number => v !== null);
  const steal = samples.map((s) => s.steal_cpu).filter((v): v is number => v !== null);
  const maxLoad = Math.max(...samples.map((s) => s.loadavg1));
  const problems: string[] = [];
  if (foreign.length) {
    const worst = Math.max(...foreign);
    if (worst > BUSY.foreignCpu) problems.push(`other processes used up to ${worst.toFixed(2)} of ${cores} cores while a side ran`);
  } else if (maxLoad > threads + BUSY.loadAboveOwn) {
    problems.push(`load average up to ${maxLoad.toFixed(2)} with ${threads} bench threads on ${cores} cores`);
  }
  if (steal.length && Math.max(...steal) > BUSY.foreignCpu) problems.push(`the hypervisor stole up to ${Math.max(...steal).toFixed(2)} cores`);
  return problems.length ? `busy machine: ${problems.join('; ')}; treat these numbers as rough and rerun on a quiet machine` : null;
}

export function summarizeLoad(samples: readonly LoadSample[]): { loadavg1: Spread; foreign_cpu: Spread | null } {
  const foreign = samples.map((s) => s.foreign_cpu).filter((v): v is number => v !== null);
  return { loadavg1: spread(samples.map((s) => s.loadavg1)), foreign_cpu: foreign.length ? spread(foreign) : null };
}

// ---------------------------------------------------------------------------------------------------------
// Records.

export interface Yardstick {
  /** 'venv' = the bench:setup venv (PyTorch 2.x from PyPI); 'debian' = /usr/bin/python3 with python3-torch. */
  source: 'venv' | 'debian';
  python: string;
  version: string;
  blas: string;
  isa: string;
}

export interface SideRounds {
  side: string;
  batch: number;
  rounds: (RoundResult & { round: number; img_per_s: number; load: LoadSample })[];
}

export interface TrainRecord {
  bench: 'train';
  model: string;
  batch: number;
  backend: string;
  status: 'ok';
  /** Median over rounds of the round's img/s. */
  img_per_s: number;
  img_per_s_min: number;
  img_per_s_max: number;
  step_ms_median: number;
  pytorch_img_per_s: number | null;
  pytorch_version: string | null;
  pytorch_blas: string | null;
  pytorch_isa: string | null;
  pytorch_source: Yardstick['source'] | null;
  /** img_per_s / pytorch_img_per_s (medians), null without the yardstick. */
  ratio_to_pytorch: number | null;
  threads: number;
  seconds_per_round: number;
  /** Median over rounds of batch · steps / CPU-seconds of the measured process (null when not measured). */
  img_per_cpu_s: number | null;
  rounds: { round: number; img_per_s: number; img_per_cpu_s: number | null; steps: number; seconds: number; step_ms_median: number; loadavg1: number; foreign_cpu: number | null }[];
  load: ReturnType<typeof summarizeLoad>;
  load_warning: string | null;
}

/** The --json record of one side (a TF.js backend or 'pytorch') from its rounds and the yardstick's. */
export function trainRecord(
  model: string,
  side: SideRounds,
  yardstick: { info: Yardstick; rounds: SideRounds } | null,
  opts: { threads: number; cores: number; secondsPerRound: number },
): TrainRecord {
  const imgs = side.rounds.map((r) => r.img_per_s);
  const s = spread(imgs);
  const torchMedian = yardstick ? median(yardstick.rounds.rounds.map((r) => r.img_per_s)) : null;
  const other = yardstick && yardstick.rounds !== side ? yardstick.rounds.rounds : [];
  const samples = [...side.rounds, ...other].map((r) => r.load);
  return {
    bench: 'train',
    model,
    batch: side.batch,
    backend: side.side,
    status: 'ok',
    img_per_s: round1(s.median),
    img_per_s_min: round1(s.min),
    img_per_s_max: round1(s.max),
    step_ms_median: round1(median(side.rounds.flatMap((r) => r.step_ms))),
    pytorch_img_per_s: torchMedian === null ? null : round1(torchMedian),
    pytorch_version: yardstick?.info.version ?? null,
    pytorch_blas: yardstick?.info.blas ?? null,
    pytorch_isa: yardstick?.info.isa ?? null,
    pytorch_source: yardstick?.info.source ?? null,
    ratio_to_pytorch: torchMedian ? round3(s.median / torchMedian) : null,
    img_per_cpu_s: side.rounds.every((r) => r.cpu_s) ? round1(median(side.rounds.map((r) => (side.batch * r.steps) / r.cpu_s!))) : null,
    threads: opts.threads,
    seconds_per_round: opts.secondsPerRound,
    rounds: side.rounds.map((r) => ({
      round: r.round,
      img_per_s: round1(r.img_per_s),
      img_per_cpu_s: r.cpu_s ? round1((side.batch * r.steps) / r.cpu_s) : null,
      steps: r.steps,
      seconds: round3(r.seconds),
      step_ms_median: round1(median(r.step_ms)),
      loadavg1: r.load.loadavg1,
      foreign_cpu: r.load.foreign_cpu,
    })),
    load: summarizeLoad(samples),
    load_warning: loadWarning(samples, opts.threads, opts.cores),
  };
}

/** The one-line summary the table prints for a record. */
export function describeRecord(r: TrainRecord): string {
  const ratio = r.ratio_to_pytorch !== null && r.backend !== 'pytorch' ? `  ${r.ratio_to_pytorch.toFixed(2)}x PyTorch` : '';
  const foreign = r.rounds.map((x) => x.foreign_cpu).filter((v): v is number => v !== null);
  const load = `load avg ${Math.min(...r.rounds.map((x) => x.loadavg1)).toFixed(2)}–${Math.max(...r.rounds.map((x) => x.loadavg1)).toFixed(2)}${foreign.length ? `, others ≤ ${Math.max(...foreign).toFixed(2)} cores` : ''}`;
  const cpu = r.img_per_cpu_s !== null ? `, ${r.img_per_cpu_s.toFixed(1)} img per CPU-s` : '';
  return `${r.img_per_s.toFixed(1).padStart(8)} img/s (min ${r.img_per_s_min.toFixed(1)}, max ${r.img_per_s_max.toFixed(1)} over ${r.rounds.length} rounds)${ratio}  [${load}${cpu}]`;
}
