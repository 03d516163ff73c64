/*
 * Containers outlive the agent: a restarted service finds them again, can exec into them, and
 * still stops and removes them completely.
 */
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { leftovers, NONE_LEFT, nsInode, processExists } from './helpers/kernel-witness';
import { startService, stopService } from './helpers/service';

const stateRoot = mkdtempSync('/tmp/cl-restart-test-');
const socket = join(stateRoot, 'agent.sock');

afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

test('a restarted agent adopts running containers', async () => {
  const first = await startService(stateRoot, socket);
  const record = await first.client.call('container.run', { name: 'survivor', net: 'none', hostname: 'survivor' });
  await stopService(first); // SIGTERM: the service ends, the container does not
  expect(processExists(record.pid!)).toBe(true);

  const second = await startService(stateRoot, socket);
  try {
    const list = await second.client.call('container.list', {});
    expect(list.map((c) => [c.name, c.status, c.pid])).toEqual([['survivor', 'running', record.pid]]);
    const inspected = await second.client.call('container.inspect', { id: 'survivor' });
    expect(inspected.namespaces.pid).toBe(nsInode(record.pid!, 'pid'));

    // Output and exit may arrive in the same read as the answer to exec.start: listen first.
    const outputs = new Map<string, string>();
    const exits = new Map<string, () => void>();
    const exited = new Set<string>();
    second.client.on('exec.output', (p) => outputs.set(p.session, (outputs.get(p.session) ?? '') + Buffer.from(p.data, 'base64').toString()));
    second.client.on('exec.exit', (p) => {
      exited.add(p.session);
      exits.get(p.session)?.();
    });
    const { session } = await second.client.call('exec.start', { id: 'survivor', args: ['hostname'] });
    await new Promise<void>((resolve) => (exited.has(session) ? resolve() : exits.set(session, resolve)));
    const output = outputs.get(session) ?? '';
    expect(output.trim()).toBe('survivor');

    const stopped = await second.client.call('container.stop', { id: 'survivor', timeoutSeconds: 5 });
    expect(stopped.status).toBe('stopped');
    await second.client.call('container.remove', { id: 'survivor' });
    expect(leftovers(stateRoot, [record])).toEqual(NONE_LEFT);
  } finally {
    await stopService(second);
  }
});
