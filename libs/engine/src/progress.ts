// Progress on a terminal: one self-rewriting line with step, loss, images/s and ETA; off a terminal, a plain
// line every N steps (CI logs stay readable).
import type { StepMetrics } from './metrics';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private readonly started = performance.now();
  private firstStep: number | null = null;
  private lastPrinted = 0;
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(
    private readonly totalSteps: number,
    private readonly enabled: boolean,
    /** Off a terminal: print every this many steps. */
    private readonly every = 20,
  ) {}

  update(step: number, m: StepMetrics): void {
    if (!this.enabled) return;
    this.firstStep ??= step - 1;
    const elapsed = (performance.now() - this.started) / 1000;
    const done = step - this.firstStep;
    const eta = done > 0 ? (elapsed / done) * (this.totalSteps - step) : NaN;
    const width = 24;
    const filled = Math.round((width * step) / this.totalSteps);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${this.totalSteps} ` +
      `loss ${m.loss.toFixed(4)} pos_sim ${m.pos_sim.toFixed(3)} std ${m.embedding_std.toFixed(4)} ` +
      `lr ${m.lr.toExponential(2)}${m.ema_momentum ? ` m ${m.ema_momentum.toFixed(5)}` : ''} ` +
      `${m.images_per_s.toFixed(0)} img/s ETA ${formatDuration(eta)}`;
    if (this.tty) {
      process.stdout.write(`\r${line}\x1b[K`);
    } else if (step - this.lastPrinted >= this.every || step === this.totalSteps) {
      console.log(line);
      this.lastPrinted = step;
    }
  }

  done(): void {
    if (this.enabled && this.tty) process.stdout.write('\n');
  }
}
