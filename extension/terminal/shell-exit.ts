/*
 * How a container shell's end is told to VS Code.
 *
 * A process's exit status says how it ended: 0-125 is the program's own `exit N`, 128+N means
 * the kernel killed it with signal N. When a container is stopped or removed, its first process
 * (PID 1 of its PID namespace) dies, and the kernel then kills every other process in that
 * namespace with SIGKILL — our shell included, so it "exits" with 137 (128 + 9). That is not the
 * shell failing, and VS Code would turn a non-zero code into an error toast ("The terminal process
 * terminated with exit code: 137"). So a shell that ends because its container ended closes
 * quietly; a shell that ends on its own (`exit 3`, or a `kill -9 $$` with the container still up)
 * reports its code as any terminal does.
 *
 * The agent reports the shell's exit (exec.exit) a moment BEFORE the container's own news
 * (container.changed → stopped, container.removed): the shell dies together with PID 1, and the
 * agent notices PID 1 a few milliseconds later. So a death by signal waits briefly for that news
 * before it is reported as the shell's own.
 */
import type { ContainerStatus } from '../../agent/protocol';

/** How long a signal death waits for the container's stop/remove news (it follows within ms). */
export const CONTAINER_END_GRACE_MS = 1_000;

/** Exit statuses above this are deaths by signal (128 + signal number). */
const KILLED_BY_SIGNAL = 128;

export type ContainerEnd = 'stopped' | 'removed';

/** What to tell the terminal: the shell's own exit code, or that its container ended. */
export type ShellEnd = { kind: 'exit'; code: number } | { kind: 'container-ended'; how: ContainerEnd };

/**
 * Collects the two pieces of news (the shell exited; the container ended), in either order, and
 * calls `decide` exactly once.
 */
export class ShellEndArbiter {
  private containerEnd: ContainerEnd | null = null;
  private pendingCode: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private decided = false;

  constructor(
    private readonly decide: (end: ShellEnd) => void,
    private readonly graceMs = CONTAINER_END_GRACE_MS,
  ) {}

  /** The container was stopped (any status but running/paused) or removed. */
  containerEnded(how: ContainerEnd): void {
    if (this.decided) return;
    // "removed" is the more telling word when both arrive
    if (this.containerEnd !== 'removed') this.containerEnd = how;
    if (this.pendingCode !== null) this.finish({ kind: 'container-ended', how: this.containerEnd });
  }

  /** exec.exit for this shell's session. */
  shellExited(code: number): void {
    if (this.decided || this.pendingCode !== null) return;
    if (this.containerEnd) return this.finish({ kind: 'container-ended', how: this.containerEnd });
    if (code <= KILLED_BY_SIGNAL) return this.finish({ kind: 'exit', code });
    this.pendingCode = code;
    this.timer = setTimeout(() => this.finish({ kind: 'exit', code }), this.graceMs);
  }

  /** The terminal went away first: decide nothing. */
  dispose(): void {
    this.decided = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(end: ShellEnd): void {
    if (this.decided) return;
    this.dispose();
    this.decide(end);
  }
}

/** True when a container.changed status means the container's processes are gone. */
export function isEndedStatus(status: ContainerStatus): boolean {
  return status === 'stopped';
}
