/*
 * SIGTERM stops a real `containers-lab serve` even while a client is connected (issue 14).
 *
 * The bug this pins down: the service removed its socket, then waited for its listening server to
 * close — and Node's server.close() waits for every open connection to end. VS Code keeps its
 * connection open, so the "stopped" agent kept serving (it even started containers), and
 * `scripts/lab` then found a live PID with no socket ("already running").
 *
 * Here a client stays connected, with an exec session running in a container, when the service's
 * own PID gets SIGTERM. The witnesses: the client sees its connection close; the process exits 0;
 * the socket file is gone; the exec's process (a child of the agent's session) is gone; the
 * container's PID 1 still runs, in its own cgroup; and the next `serve` on the same state root
 * adopts it — same PID, same namespaces as /proc shows them — and can remove it.
 *
 * Containers use --net none and names starting "sigterm-"; the state root is a temporary directory,
 * checked with the kernel's view (kernel-witness leftovers) and removed at the end.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../agent/protocol';
import { connectAgent } from '../agent/service/client';
import { cgroupDirsNamed, leftovers, NONE_LEFT, nsInode, processExists } from './helpers/kernel-witness';
import { startService, stopService, type RunningService } from './helpers/service';
import { waitFor } from './helpers/wait';

const work = mkdtempSync(join(tmpdir(), 'cl-sigterm-'));
const stateRoot = join(work, 'state');
const socketPath = join(work, 'run', 'agent.sock');
const made: ContainerRecord[] = [];
const services: RunningService[] = [];

afterAll(async () => {
  // Whatever a failed step left: a service on this root removes this file's containers.
  const alive = services.find((service) => service.process.exitCode === null && service.process.signalCode === null);
  const cleaner = alive ?? (await startService(stateRoot, socketPath));
  if (!alive) services.push(cleaner);
  for (const record of made) await cleaner.client.call('container.remove', { id: record.id, force: true }).catch(() => undefined);
  for (const service of services) await stopService(service);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  rmSync(work, { recursive: true, force: true });
});

describe('containers-lab serve and SIGTERM', () => {
  it('with a client connected and an exec running: the connection closes, the process exits 0, the socket is gone; the container runs on', async () => {
    const service = await startService(stateRoot, socketPath);
    services.push(service);
    const record = await service.client.call('container.run', { name: 'sigterm-web', net: 'none', args: ['sleep', '3600'] });
    made.push(record);
    const exec = await service.client.call('exec.start', { id: record.id, args: ['sleep', '3600'] });
    expect(processExists(exec.pid)).toBe(true);

    const connectionClosed = new Promise<string>((resolve) => service.client.onClose((reason) => resolve(reason.message)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => service.process.once('exit', (code, signal) => resolve({ code, signal })));
    const sentAt = Date.now();
    // The PID this test started, as `scripts/lab stop` sends it to the PID in its pid file.
    process.kill(service.process.pid!, 'SIGTERM');

    expect(await connectionClosed).toMatch(/closed/);
    expect(await exited).toEqual({ code: 0, signal: null });
    // Well before the exec hang-up's grace would run out twice: nothing waits on the client.
    expect(Date.now() - sentAt).toBeLessThan(6_000);
    expect(existsSync(socketPath)).toBe(false);
    expect(await connectAgent(socketPath)).toBeNull();
    expect(service.stderr()).toMatch(/SIGTERM: shutting down/);
    expect(service.stderr()).toMatch(/stopped \(containers keep running/);

    // What the connection started for itself ended; the container did not.
    await waitFor(() => processExists(exec.pid), (alive) => !alive, 5_000);
    expect(processExists(record.pid!)).toBe(true);
    expect(cgroupDirsNamed(record.id).length).toBeGreaterThan(0);
  });

  it('the next serve on the same state root adopts the container (same PID and namespaces) and removes it', async () => {
    const [record] = made;
    expect(record, 'no container from the previous step').toBeDefined();
    const next = await startService(stateRoot, socketPath);
    services.push(next);
    const adopted = await next.client.call('container.inspect', { id: record!.id });
    expect([adopted.name, adopted.status, adopted.pid]).toEqual(['sigterm-web', 'running', record!.pid]);
    for (const type of ['pid', 'mnt', 'uts', 'ipc']) expect(adopted.namespaces[type as keyof typeof adopted.namespaces], type).toBe(nsInode(record!.pid!, type));

    await next.client.call('container.remove', { id: record!.id, force: true });
    expect(processExists(record!.pid!)).toBe(false);
    expect(leftovers(stateRoot, [record!])).toEqual(NONE_LEFT);
  });
});
