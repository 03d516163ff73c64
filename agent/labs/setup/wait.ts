/*
 * Waiting for a container's process to end (a job that runs to completion, a process the OOM
 * killer will kill). The runtime learns of the exit through its exit watcher; this polls its
 * view, bounded, so a lab whose job never ends fails with a clear error instead of hanging.
 */
import { badInput } from '../../errors';
import type { ContainerRuntime } from '../../runtime/api';

export async function waitUntilStopped(runtime: ContainerRuntime, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    runtime.list(); // polls the exit watcher
    if (runtime.inspect(name).status === 'stopped') return;
    if (Date.now() > deadline) throw badInput(`"${name}" did not stop within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
