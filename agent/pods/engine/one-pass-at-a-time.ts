/*
 * How the kubelet's pod workers and its static-pod watcher avoid racing themselves: a pass
 * (compare what should run with what runs, then act) never overlaps another. A request that
 * arrives during a pass is not dropped and not run in parallel: it asks for one more pass after
 * the current one, and any number of such requests fold into that one.
 */
export class OnePassAtATime {
  private running: Promise<void> | null = null;
  private again = false;

  /** `pass` does the work; `wanted` says whether another pass may still run (false once stopped). */
  constructor(private readonly pass: () => Promise<void>, private readonly wanted: () => boolean = () => true) {}

  /** Asks for a pass; resolves when one that started after this call has ended. */
  request(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && this.wanted());
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no pass is running. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}
