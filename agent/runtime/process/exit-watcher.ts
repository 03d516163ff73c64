/*
 * Noticing that a process ended.
 *
 * When a child exits the kernel keeps a small "zombie" entry until its parent collects the exit
 * status with waitpid(2), and sends the parent SIGCHLD. The agent listens for SIGCHLD and
 * collects the status of each process it started. Node's own child_process machinery only ever
 * waits for the PIDs it spawned itself, so the two never take each other's children.
 *
 * A container started by an earlier agent (before a restart, or by the standalone CLI) is not
 * our child: its status goes to whoever adopted it (init). For those the watcher subscribes to the
 * kernel's process events connector (../../kernel/proc-connector.ts), which reports every exit on
 * the machine with its wait status, so an adopted container ends with the same exit code as one
 * the service started. The watcher checks once a second (and whenever asked, as `stop` does every
 * few milliseconds) whether the PID is gone (or reused, which its start time reveals), reading the
 * connector's queued events with a non-blocking recv at the same moments. Where the connector is
 * unavailable (not root, a kernel without CONFIG_PROC_EVENTS, a non-initial PID namespace) only
 * the disappearance is seen and the status is unknown (null).
 *
 * Why no thread waiting on the socket, as the link watcher (../../inspect/link-events.ts) has: the
 * standalone CLI, which adopts every running container it loads, would be kept alive by that
 * wait, and a thread-pool thread would sit in poll(2) for events that are only needed at those
 * moments. The events queue in the socket meanwhile. The kernel reports only exits that happen
 * while someone listens: a container that ends in the instant between its record being loaded
 * and the subscription is still reported as ended with an unknown status.
 *
 * Node does not count a signal listener as a reason to keep running: with nothing else pending
 * it ends the process — exit code 0 — while the child still runs or its SIGCHLD is still on its way. The service always has
 * its listening socket; the standalone CLI, whose agent talks over in-memory pipes, may have
 * nothing once an exec'd program's output has closed (an OOM-killed `dd`, a program that closes
 * its stdio), so it would end before learning the exit status it is waiting to print. A watch
 * that someone awaits (`holdOpen`) therefore keeps a referenced timer until its status is in.
 */
import { readFileSync } from 'node:fs';
import { ProcessExitEvents, type ProcessExit } from '../../kernel/proc-connector';
import { reap, type ExitStatus } from '../../kernel/processes';

export type ExitListener = (status: ExitStatus | null) => void;

const ADOPTED_POLL_MS = 1000;
/** The hold only has to exist: SIGCHLD does the collecting, its ticks are no more than a backstop. */
const HOLD_POLL_MS = 1000;
/**
 * The kernel queues the exit event just after the process turns into a zombie, so a look at /proc
 * can see it gone a moment before its event can be read: wait this long for the event before
 * settling for "ended, status unknown".
 */
const EVENT_GRACE_MS = 250;

interface AdoptedWatch {
  startTime: string | null;
  listener: ExitListener;
  /** From the connector, once its exit event has been read. */
  status: ExitStatus | null;
  /** When it was first seen gone without its event. */
  goneAt: number | null;
}

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  const now = processStartTime(pid);
  return now !== null && (startTime === null || now === startTime);
}

export class ExitWatcher {
  private readonly children = new Map<number, ExitListener>();
  private readonly adopted = new Map<number, AdoptedWatch>();
  private timer: NodeJS.Timeout | null = null;
  /** Open while adopted processes are watched; 'unavailable' once subscribing failed. */
  private exitEvents: ProcessExitEvents | 'unavailable' | null = null;
  /** Children whose exit someone is waiting for, and the timer that keeps us alive for them. */
  private readonly held = new Set<number>();
  private holdTimer: NodeJS.Timeout | null = null;
  private readonly onSigchld = (): void => this.collectChildren();

  constructor() {
    process.on('SIGCHLD', this.onSigchld);
  }

  /**
   * Watches a process this agent cloned; its exit status is collected here. `holdOpen`: this
   * process (the agent) stays alive until then — for a status somebody waits for (an exec's), not
   * for a detached container that a standalone CLI leaves behind.
   */
  watchChild(pid: number, listener: ExitListener, options: { holdOpen?: boolean } = {}): void {
    this.children.set(pid, listener);
    if (options.holdOpen) {
      this.held.add(pid);
      this.holdTimer ??= setInterval(() => this.collectChildren(), HOLD_POLL_MS);
    }
    // It may have exited before we started listening.
    this.collectChildren();
  }

  /**
   * Watches a process some earlier agent started: its exit status comes from the process events
   * connector where it can, else only its disappearance is seen (status null). The caller has
   * just seen it alive with `startTime`.
   */
  watchAdopted(pid: number, startTime: string | null, listener: ExitListener): void {
    this.subscribe();
    // Whatever is queued now ended before this watch began: a PID's earlier owner, not this one.
    this.readExitEvents();
    this.adopted.set(pid, { startTime, listener, status: null, goneAt: null });
    this.timer ??= setInterval(() => this.pollAdopted(), ADOPTED_POLL_MS).unref();
  }

  isWatching(pid: number): boolean {
    return this.children.has(pid) || this.adopted.has(pid);
  }

  isChild(pid: number): boolean {
    return this.children.has(pid);
  }

  /** Checks now (e.g. right after sending a signal) instead of waiting for the next event. */
  poll(): void {
    this.collectChildren();
    this.pollAdopted();
  }

  close(): void {
    process.off('SIGCHLD', this.onSigchld);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe();
    this.held.clear();
    this.releaseHold();
  }

  private collectChildren(): void {
    for (const [pid, listener] of [...this.children]) {
      let status: ExitStatus | null;
      try {
        status = reap(pid);
      } catch {
        // ECHILD: someone else collected it; we know it ended, not how
        this.forget(pid);
        listener(null);
        continue;
      }
      if (status) {
        this.forget(pid);
        listener(status);
      }
    }
  }

  private forget(pid: number): void {
    this.children.delete(pid);
    this.held.delete(pid);
    if (this.held.size === 0) this.releaseHold();
  }

  private releaseHold(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = null;
  }

  private pollAdopted(): void {
    if (this.adopted.size === 0) return;
    // Every time, even with nothing gone: the socket queues every exit on the machine, and a full
    // queue drops the newest events — the one we wait for among them.
    this.readExitEvents();
    const now = Date.now();
    for (const [pid, watch] of [...this.adopted]) {
      if (isSameProcessAlive(pid, watch.startTime)) continue;
      // Again after the look at /proc: an exit seen there has its event queued by now, or nearly.
      if (watch.status === null) this.readExitEvents();
      if (watch.status === null && this.exitEvents instanceof ProcessExitEvents) {
        watch.goneAt ??= now;
        if (now - watch.goneAt < EVENT_GRACE_MS) continue;
      }
      this.adopted.delete(pid);
      watch.listener(watch.status);
    }
    if (this.adopted.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      // Nothing left that only the connector can tell about: stop the kernel sending us every exit.
      this.unsubscribe();
    }
  }

  /** Subscribes to the kernel's exit events, once; when that fails, adopted watches fall back. */
  private subscribe(): void {
    if (this.exitEvents !== null) return;
    try {
      this.exitEvents = ProcessExitEvents.subscribe();
    } catch {
      this.exitEvents = 'unavailable';
    }
  }

  private unsubscribe(): void {
    if (this.exitEvents instanceof ProcessExitEvents) {
      this.exitEvents.close();
      this.exitEvents = null;
    }
  }

  /** Non-blocking: takes every queued exit event and keeps the statuses of adopted processes. */
  private readExitEvents(): void {
    if (!(this.exitEvents instanceof ProcessExitEvents)) return;
    let exits: ProcessExit[];
    try {
      exits = this.exitEvents.read().exits;
    } catch {
      // A socket error is not worth failing a verb for: from here on, as without the connector.
      this.exitEvents.close();
      this.exitEvents = 'unavailable';
      return;
    }
    for (const exit of exits) {
      const watch = this.adopted.get(exit.pid);
      // The first exit of that PID since the watch began is the watched process's own.
      if (watch && watch.status === null) watch.status = exit.status;
    }
  }
}
