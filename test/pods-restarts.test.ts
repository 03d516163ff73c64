/*
 * Restart policy on the real kernel: a crash loop restarts at once, then after the kubelet's
 * 10 s back-off (CrashLoopBackOff in between), with restartCount and lastState; an OOM-killed
 * container reports OOMKilled (137) and restarts under OnFailure; Never leaves a finished pod
 * Completed; an agent restart keeps the restart count and goes on supervising.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { usePods } from './helpers/pods';

const fixture = usePods('restarts', 'clpodsrst0', '10.231.74.0/24');

const pod = (name: string, policy: string, container: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  restartPolicy: ${policy}
  terminationGracePeriodSeconds: 1
  containers:
${container}`;

describe('restarts', () => {
  test('a crash loop follows the back-off: at once, then 10 s later', async () => {
    const engine = fixture.engine();
    await engine.apply(pod('crash', 'Always', '  - name: app\n    image: busybox\n    command: ["sh", "-c", "echo ran; exit 3"]\n'));
    const first = await fixture.waitFor('crash', (p) => p.status.containerStatuses[0]!.restartCount >= 1 && p.status.containerStatuses[0]!.state.waiting?.reason === 'CrashLoopBackOff');
    const status = first.status.containerStatuses[0]!;
    expect(status.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(engine.list()[0]!.status).toBe('CrashLoopBackOff');
    const runtime = fixture.runtime();
    const second = runtime.inspect(status.containerID!);
    expect(second.name).toBe('crash.app.1');
    const third = await fixture.waitFor('crash', (p) => p.status.containerStatuses[0]!.restartCount >= 2, 20_000);
    const thirdRecord = runtime.inspect(third.status.containerStatuses[0]!.containerID!);
    // The kernel's own clock for it: the new container's process start, against the second one's end.
    const waited = (Date.parse(thirdRecord.createdAt) - Date.parse(second.finishedAt!)) / 1000;
    expect(waited).toBeGreaterThanOrEqual(10);
    expect(waited).toBeLessThan(13);
    expect(third.events.find((e) => e.reason === 'BackOff')).toMatchObject({ type: 'Warning', from: 'spec.containers{app}' });
    // The one before stays for logs --previous; older ones go.
    expect(engine.resolve({ name: 'crash', previous: true }).id).toBe(second.id);
    expect(runtime.logs(second.id).toString()).toBe('ran\n');
    expect(runtime.list().filter((c) => c.name.startsWith('crash.app.')).map((c) => c.name).sort()).toEqual(['crash.app.1', 'crash.app.2']);
    await engine.delete({ name: 'crash', gracePeriodSeconds: 0 });
  }, 60_000);

  test('OOMKilled under a memory limit, restarted by OnFailure', async () => {
    const engine = fixture.engine();
    await engine.apply(pod('hungry', 'OnFailure', [
      '  - name: eat', '    image: busybox', '    command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]',
      '    resources:', '      limits:', '        memory: 16Mi', '',
    ].join('\n')));
    const after = await fixture.waitFor('hungry', (p) => p.status.containerStatuses[0]!.restartCount >= 1);
    const status = after.status.containerStatuses[0]!;
    expect(status.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(after.events.some((e) => e.reason === 'OOMKilled')).toBe(true);
    const record = fixture.runtime().inspect(status.containerID!);
    expect(record.cgroup!.limits.memoryBytes).toBe(16 * 1024 * 1024);
    await engine.delete({ name: 'hungry', gracePeriodSeconds: 0 });
  }, 60_000);

  test('Never: a pod whose containers all succeeded is Completed and stays', async () => {
    const engine = fixture.engine();
    await engine.apply(pod('once', 'Never', '  - name: job\n    image: busybox\n    command: ["true"]\n'));
    const done = await fixture.waitFor('once', (p) => p.status.phase === 'Succeeded');
    expect(done.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect(engine.list()[0]!.status).toBe('Completed');
    expect(done.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    await engine.delete({ name: 'once' });
  });

  test('an agent restart keeps the pod, its restart count and its supervision', async () => {
    await fixture.engine().apply(pod('keep', 'Always', '  - name: app\n    image: busybox\n    command: ["sh", "-c", "trap \'exit 1\' TERM; sleep 600 & wait"]\n'));
    const before = await fixture.waitFor('keep', (p) => p.status.phase === 'Running');
    const pid = fixture.runtime().inspect(before.status.containerStatuses[0]!.containerID!).pid!;
    fixture.reopen();
    const again = fixture.engine().get('keep');
    expect(again.uid).toBe(before.uid);
    expect(again.status.containerStatuses[0]!.containerID).toBe(before.status.containerStatuses[0]!.containerID);
    // The process ends while the new agent watches: it restarts the container.
    process.kill(pid, 'SIGTERM');
    const restarted = await fixture.waitFor('keep', (p) => p.status.containerStatuses[0]!.restartCount === 1 && p.status.phase === 'Running' && !!p.status.containerStatuses[0]!.state.running);
    expect(restarted.status.containerStatuses[0]!.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    const newPid = fixture.runtime().inspect(restarted.status.containerStatuses[0]!.containerID!).pid!;
    expect(readFileSync(`/proc/${newPid}/cgroup`, 'utf8')).toContain(`kubepods/besteffort/pod${before.uid}/keep.app.1`);
    fixture.reopen();
    expect(fixture.engine().get('keep').status.containerStatuses[0]!.restartCount).toBe(1);
    await fixture.engine().delete({ name: 'keep', gracePeriodSeconds: 0 });
  }, 60_000);
});
