/*
 * shareProcessNamespace on the real kernel: true puts every container of the pod in the
 * sandbox's PID namespace, whose PID 1 is the sandbox's (pause) process, and each container sees
 * the others' processes; false (the default) gives each container a PID namespace of its own.
 * The kernel is asked: /proc/<pid>/ns/pid, NSpid in /proc/<pid>/status, and `ps` inside.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { execCollect } from './helpers/exec';
import { usePods } from './helpers/pods';

const fixture = usePods('podsrest-pid', 'podsrest1', '10.173.59.0/24');

const pod = (name: string, share: boolean | undefined) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
${share === undefined ? '' : `  shareProcessNamespace: ${share}\n`}  containers:
  - name: first
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done # podsrest-first-marker"]
  - name: second
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

const pidNs = (pid: number): string => readlinkSync(`/proc/${pid}/ns/pid`);
/** The process's PID in each PID namespace it is in, outermost first (NSpid). */
const nsPids = (pid: number): number[] => /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim().split(/\s+/).map(Number);

async function running(name: string, share: boolean | undefined) {
  await fixture.engine().apply(pod(name, share), `${name}.yaml`);
  const record = await fixture.waitFor(name, (p) => p.status.phase === 'Running' && p.status.containerStatuses.every((s) => s.ready));
  const runtime = fixture.runtime();
  const [first, second] = record.status.containerStatuses.map((s) => runtime.inspect(s.containerID!));
  return { sandbox: runtime.inspect(record.sandbox!.id), first: first!, second: second! };
}

describe('shareProcessNamespace', () => {
  test('true: one PID namespace, the sandbox is PID 1 in it, containers see each other', async () => {
    const runtime = fixture.runtime();
    const { sandbox, first, second } = await running('podsrest-shared', true);
    expect(pidNs(first.pid!)).toBe(pidNs(sandbox.pid!));
    expect(pidNs(second.pid!)).toBe(pidNs(sandbox.pid!));
    expect(pidNs(first.pid!)).not.toBe(pidNs(process.pid));
    expect(nsPids(sandbox.pid!).at(-1)).toBe(1);
    expect(nsPids(first.pid!).at(-1)).not.toBe(1);
    expect(nsPids(second.pid!).at(-1)).not.toBe(1);

    // From the second container: the first one's process and the sandbox's as PID 1.
    const ps = (await execCollect(runtime, second.id, ['ps', '-o', 'pid,args'])).stdout;
    expect(ps).toContain('podsrest-first-marker');
    const firstInside = nsPids(first.pid!).at(-1)!;
    expect(ps).toMatch(new RegExp(`^\\s*${firstInside}\\s.*podsrest-first-marker`, 'm'));
    expect((await execCollect(runtime, second.id, ['cat', '/proc/1/cmdline'])).stdout).toBe(readFileSync(`/proc/${sandbox.pid}/cmdline`, 'utf8'));

    await fixture.engine().delete({ name: 'podsrest-shared', gracePeriodSeconds: 2 });
    expect(runtime.list()).toEqual([]);
  }, 60_000);

  test('default (and false): each container its own PID namespace, PID 1 in it', async () => {
    const runtime = fixture.runtime();
    for (const [name, share] of [['podsrest-own', undefined], ['podsrest-false', false]] as const) {
      const { sandbox, first, second } = await running(name, share);
      expect(new Set([pidNs(sandbox.pid!), pidNs(first.pid!), pidNs(second.pid!)]).size).toBe(3);
      expect(nsPids(first.pid!).at(-1)).toBe(1);
      expect(nsPids(second.pid!).at(-1)).toBe(1);
      const ps = (await execCollect(runtime, second.id, ['ps', '-o', 'pid,args'])).stdout;
      expect(ps).not.toContain('podsrest-first-marker');
      await fixture.engine().delete({ name, gracePeriodSeconds: 2 });
    }
    expect(runtime.list()).toEqual([]);
  }, 60_000);
});
