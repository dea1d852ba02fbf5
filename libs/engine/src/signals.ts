// Ctrl-C and SIGTERM: the first one asks the work to stop at the next safe point (the loop finishes its step,
// writes the checkpoint, marks the run KILLED and flushes tracking); a second one leaves at once. Signals only
// reach JavaScript when the event loop turns, so long loops call `yieldToEventLoop()` between steps.

/** Exit code of a process stopped by a signal (128 + its number): SIGINT 130, SIGTERM 143. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

export class StopRequest {
  private received: NodeJS.Signals | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly label = 'unigrad') {}

  /** The first signal received, or null. */
  get signal(): NodeJS.Signals | null {
    return this.received;
  }

  get requested(): boolean {
    return this.received !== null;
  }

  /** Asks the work to stop (as a signal would, e.g. after a step budget). */
  request(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.received ??= signal;
  }

  /** Listens for SIGINT and SIGTERM until `uninstall()`. */
  install(log = true): this {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        if (this.received) process.exit(signalExitCode(this.received)); // second signal: leave now (last checkpoint intact)
        this.received = signal;
        if (log) console.error(`\n[${this.label}] ${signal}: finishing the current step, then checkpointing and stopping (again to quit at once)…`);
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
    return this;
  }

  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }

  exitCode(): number {
    return this.received ? signalExitCode(this.received) : 0;
  }
}

/** Lets timers, signal handlers and network callbacks run (one turn of the event loop, ~microseconds). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
