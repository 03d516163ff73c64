/*
 * Probes on the real kernel: a failing exec liveness probe restarts the container (Unhealthy,
 * Killing); readiness drives Ready; httpGet and tcpSocket reach the pod's own address.
 */
import { describe, expect, test } from 'vitest';
import { execCollect } from './helpers/exec';
import { usePods } from './helpers/pods';

const fixture = usePods('probes', 'clpodsprb0', '10.231.75.0/24');

describe('probes', () => {
  test('a failed liveness probe restarts the container', async () => {
    const engine = fixture.engine();
    await engine.apply(`apiVersion: v1
kind: Pod
metadata:
  name: sick
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "touch /tmp/alive; sleep 2; rm /tmp/alive; trap 'exit 0' TERM; while :; do sleep 1; done"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/alive"]
      periodSeconds: 1
      failureThreshold: 2
`);
    const after = await fixture.waitFor('sick', (p) => p.status.containerStatuses[0]!.restartCount >= 1, 20_000);
    const reasons = after.events.map((e) => `${e.reason}: ${e.message}`);
    expect(reasons).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Unhealthy: Liveness probe failed: cat: can't open '\/tmp\/alive'/),
      'Killing: Container app failed liveness probe, will be restarted',
    ]));
    await engine.delete({ name: 'sick', gracePeriodSeconds: 0 });
  }, 40_000);

  test('readiness (httpGet) drives Ready; tcpSocket startup gates it', async () => {
    const engine = fixture.engine();
    await engine.apply(`apiVersion: v1
kind: Pod
metadata:
  name: served
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && sleep 2 && exec httpd -f -p 8080 -h /www"]
    ports:
    - name: http
      containerPort: 8080
    startupProbe:
      tcpSocket:
        port: http
      periodSeconds: 1
      failureThreshold: 10
    readinessProbe:
      httpGet:
        path: /index.html
        port: 8080
      periodSeconds: 1
`);
    const early = engine.get('served');
    expect(early.status.containerStatuses[0]!.ready).toBe(false);
    const ready = await fixture.waitFor('served', (p) => p.status.containerStatuses[0]!.ready, 20_000);
    expect(ready.status.containerStatuses[0]!.started).toBe(true);
    expect(ready.status.conditions.find((c) => c.type === 'Ready')!.status).toBe('True');
    expect(engine.list()[0]!.ready).toBe('1/1');
    // The page goes: readiness fails and Ready goes with it, the container keeps running.
    await execCollect(fixture.runtime(), ready.status.containerStatuses[0]!.containerID!, ['rm', '/www/index.html']);
    const unready = await fixture.waitFor('served', (p) => !p.status.containerStatuses[0]!.ready, 20_000);
    expect(unready.status.containerStatuses[0]!.state.running).toBeDefined();
    expect(unready.events.some((e) => e.reason === 'Unhealthy' && /Readiness probe failed: HTTP probe failed with statuscode: 404/.test(e.message))).toBe(true);
    await engine.delete({ name: 'served', gracePeriodSeconds: 0 });
  }, 60_000);
});
