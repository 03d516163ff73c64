/*
 * Holding a container's mount namespace while its process runs, so that its exit is quick.
 *
 * When the last process in a mount namespace exits, the kernel tears the namespace down inside
 * that exit, before it tells the parent (SIGCHLD): every mount of the container — the overlay
 * root, /proc, /sys, /dev, /dev/pts, /dev/mqueue, the masked paths — is unmounted and the kernel
 * waits for RCU grace periods. Measured here: 1–4 ms between the exit of a container's
 * /bin/true and the SIGCHLD, against ~0.2 ms with the namespace held. During that time the
 * container has ended but cannot be reported stopped.
 *
 * Another reference to the namespace (an open /proc/<pid>/ns/mnt) keeps it alive past the exit.
 * The agent holds one from create on and drops it as soon as it has reaped the process, with a
 * close(2) on libuv's thread pool: the teardown then runs beside the agent instead of in front of
 * it. What the kernel shows does not change: no process is in the namespace after the exit, its
 * mounts are in no host mount table, and it is gone milliseconds later. `rm` deletes the
 * container's directory only once the release has ended (see StateStore.discard).
 *
 * Children inherit the agent's descriptors at clone. A child that kept a copy of a hold would
 * keep that namespace alive until it execs — and its execve would pay the teardown. So holds
 * live at HELD_FD_MINIMUM and above, and every child program's first step closes that range
 * (./launch.ts). If no descriptor that high is free, nothing is held: that exit pays the
 * teardown, as without holds.
 */
import { readFileSync } from 'node:fs';
import { O_RDONLY } from '../../kernel/constants';
import { closeFd, closeFdInBackground, duplicateFdAtOrAbove, openFile } from '../../kernel/files';

/**
 * The lowest descriptor number a hold may have: half the agent's descriptor limit. The kernel
 * hands out the lowest free number, so everything else the agent opens — and every descriptor
 * it passes to a child — stays below it unless the agent is close to running out anyway.
 */
export const HELD_FD_MINIMUM = Math.floor(openFilesLimit() / 2);

/** RLIMIT_NOFILE's soft limit, as /proc/self/limits reports it (Node raises it to the hard one). */
function openFilesLimit(): number {
  try {
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return limit ? Number(limit) : 1024;
  } catch {
    return 1024;
  }
}

export class MountNamespaceHolds {
  /** Container id → the agent's descriptor for its mount namespace. */
  private readonly held = new Map<string, number>();
  /** Releases whose close may still be tearing a namespace down, by container id. */
  private readonly releasing = new Map<string, Promise<void>>();

  /** Opens a hold on the mount namespace of `pid` (the container's first process, alive). */
  hold(id: string, pid: number): void {
    if (this.held.has(id)) return;
    let opened: number;
    try {
      opened = openFile(`/proc/${pid}/ns/mnt`, O_RDONLY);
    } catch {
      return; // it exited already: its namespace is gone or going
    }
    try {
      this.held.set(id, duplicateFdAtOrAbove(opened, HELD_FD_MINIMUM));
    } catch {
      // no descriptor that high (RLIMIT_NOFILE): hold nothing
    } finally {
      closeFd(opened);
    }
  }

  /** Drops the hold; if it was the namespace's last reference, the teardown runs in the background. */
  release(id: string): void {
    const fd = this.held.get(id);
    if (fd === undefined) return;
    this.held.delete(id);
    const closed: Promise<void> = closeFdInBackground(fd).finally(() => {
      if (this.releasing.get(id) === closed) this.releasing.delete(id);
    });
    this.releasing.set(id, closed);
  }

  /** Resolves once `id`'s namespace is no longer held or being released by this agent. */
  released(id: string): Promise<void> {
    return this.releasing.get(id) ?? Promise.resolve();
  }

  /** Drops every hold now (the agent is closing; containers that still run keep their namespaces). */
  releaseAll(): void {
    for (const fd of this.held.values()) closeFd(fd);
    this.held.clear();
  }
}
