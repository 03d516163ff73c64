/*
 * The process events connector tells how a process that is NOT our child ended, and with it an
 * agent that adopted a container (the standalone CLI, a restarted service) records the same exit
 * code as the agent that started it.
 *
 * Non-children are made the way a shell detaches a job: `sh -c '… & echo $!'` starts a background
 * process and exits, so the kernel re-parents it to init (or a subreaper) and wait(2) in this
 * process can never collect it. Only PIDs started here are signalled.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { ProcessExitEvents, type ProcessExit } from '../agent/kernel/proc-connector';
import { reap, type ExitStatus } from '../agent/kernel/processes';
import { ExitWatcher, processStartTime } from '../agent/runtime/process/exit-watcher';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRecord } from '../agent/protocol';
import { leftovers, NONE_LEFT, processExists } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

/** Starts `script` in the background of a shell that exits at once; returns the orphan's PID. */
function startOrphan(script: string): number {
  const pid = Number(execFileSync('sh', ['-c', `sh -c '${script}' </dev/null >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim());
  expect(pid).toBeGreaterThan(0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])).not.toBe(process.pid); // not our child
  return pid;
}

async function exitOf(events: ProcessExitEvents, pid: number): Promise<ProcessExit> {
  let found: ProcessExit | undefined;
  await waitFor(() => {
    found ??= events.read().exits.find((exit) => exit.pid === pid);
    return found;
  }, (exit) => exit !== undefined);
  if (!found) throw new Error(`no exit event for pid ${pid}`);
  return found;
}

const orphans: number[] = [];

afterAll(() => {
  for (const pid of orphans) if (processExists(pid)) process.kill(pid, 'SIGKILL');
});

describe('the process events connector', () => {
  test('reports the exit code of a process that is not our child', async () => {
    const events = ProcessExitEvents.subscribe();
    try {
      const pid = startOrphan('sleep 0.3; exit 7');
      orphans.push(pid);
      const exit = await exitOf(events, pid);
      expect(exit.status).toEqual({ code: 7, signal: null });
      expect(exit.waitStatus).toBe(7 << 8);
    } finally {
      events.close();
    }
  });

  test('reports 128 + 9 for one killed by SIGKILL', async () => {
    const events = ProcessExitEvents.subscribe();
    try {
      const pid = startOrphan('exec sleep 30');
      orphans.push(pid);
      process.kill(pid, 'SIGKILL');
      expect((await exitOf(events, pid)).status).toEqual({ code: 137, signal: 9 });
    } finally {
      events.close();
    }
  });
});

describe('the exit watcher', () => {
  test('delivers an adopted process\'s exit status, not null', async () => {
    const watcher = new ExitWatcher();
    try {
      const pid = startOrphan('sleep 0.5; exit 7');
      orphans.push(pid);
      const status = await new Promise<ExitStatus | null>((resolve) => {
        const poll = setInterval(() => watcher.poll(), 20);
        watcher.watchAdopted(pid, processStartTime(pid), (result) => {
          clearInterval(poll);
          resolve(result);
        });
      });
      expect(status).toEqual({ code: 7, signal: null });
    } finally {
      watcher.close();
    }
  });
});

describe('a container adopted by a second runtime', () => {
  test('stopped by the adopter, its record has the exit code the kernel reported', async () => {
    const stateRoot = mkdtempSync('/tmp/cl-procconn-');
    const made: ContainerRecord[] = [];
    try {
      const first = openRuntime({ stateRoot });
      try {
        // busybox sleep as PID 1 has no SIGTERM handler: stop's SIGKILL at the deadline ends it (137).
        made.push(await first.run({ name: 'adopted-kill', net: 'none', args: ['sleep', '3600'] }));
        // This one's TERM trap ends it with its own code.
        made.push(await first.run({ name: 'adopted-trap', net: 'none', args: ['sh', '-c', "trap 'exit 5' TERM; while :; do sleep 0.2; done"] }));
      } finally {
        first.close(); // the containers keep running; their exit now goes to a parent nobody listens for
      }

      const second = openRuntime({ stateRoot });
      try {
        const killed = await second.stop('adopted-kill', 1);
        expect(killed.status).toBe('stopped');
        expect(killed.exitCode).toBe(137);
        const trapped = await second.stop('adopted-trap', 10);
        expect(trapped.exitCode).toBe(5);
      } finally {
        second.close();
      }

      // Saved, as a later process (`ps -a`, `inspect`) reads it.
      const third = openRuntime({ stateRoot });
      try {
        expect(third.list().map((summary) => [summary.name, summary.exitCode])).toEqual([['adopted-kill', 137], ['adopted-trap', 5]]);
      } finally {
        third.close();
      }
    } finally {
      // Whatever failed above: remove what is left, collect the zombies (this process is still
      // the containers' parent, the first runtime's), and ask the kernel whether anything remains.
      const cleaner = openRuntime({ stateRoot });
      try {
        for (const summary of cleaner.list()) await cleaner.remove(summary.id, true);
      } finally {
        cleaner.close();
      }
      for (const record of made) {
        try {
          reap(record.pid!, true);
        } catch {
          // already collected
        }
      }
      expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
      rmSync(stateRoot, { recursive: true, force: true });
    }
  }, 60_000);
});
