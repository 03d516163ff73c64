/*
 * The lab.* methods over JSON-RPC, as the Exercises view will call them: through the agent's
 * service (in-process, over a pair of pipes), with its parameter rules and error codes.
 */
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { openInProcessAgent } from '../agent/cli/standalone';
import { loadLabs } from '../agent/labs/loader';
import { RpcErrorCode } from '../agent/protocol';
import { useOwnDefaultNetwork } from './helpers/default-network';
import { ipJson, leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { LABS_DIRECTORY } from './labs-harness';

// This file's default network (the learners' `run` lines name no bridge), read by the runtime as `serve` reads it.
const releaseNetwork = useOwnDefaultNetwork('cllabsv0', '10.77.128.0/24');
const root = mkdtempSync('/tmp/cl-labs-svc-');
const agentPromise = openInProcessAgent(root);

afterAll(async () => {
  const agent = await agentPromise;
  agent.close();
  rmSync(root, { recursive: true, force: true });
  expect(releaseNetwork().bridgeGone).toBe(true);
});

test('list, show, start, check, solution, solve, stop over the service; bad params are -32602', async () => {
  const { client } = await agentPromise;
  const list = await client.call('lab.list', {});
  expect(list.map((lab) => lab.id)).toEqual(loadLabs(LABS_DIRECTORY).map((lab) => lab.id));
  expect(list.find((lab) => lab.id === 'a-process')!.progress).toMatchObject({ startedAt: null, completed: false, max: 3 });

  const started = await client.call('lab.start', { id: 'a-process' });
  expect(started).toMatchObject({ id: 'a-process', timeLimitMinutes: 10, workdir: `${root}/labs/work/a-process` });
  expect((await client.call('lab.check', { id: 'a-process' })).score).toBe(0);
  expect((await client.call('lab.solution', { id: 'a-process' })).steps).toEqual(['containers-lab run -d --name first busybox -- sleep 3600']);
  const solved = await client.call('lab.solve', { id: 'a-process' });
  expect(solved).toMatchObject({ passed: true, score: 3, max: 3 });
  const record = await client.call('container.inspect', { id: 'first' });
  // the learner's `run` named no bridge: the kernel has its veth on this file's default bridge
  expect(ipJson<{ master?: string }[]>(['link', 'show', 'dev', record.network.vethHost!])[0]!.master).toBe('cllabsv0');
  const progress = (await client.call('lab.list', {})).find((lab) => lab.id === 'a-process')!.progress;
  expect(progress).toMatchObject({ completed: false, solvedByReference: true, bestScore: 0, lastScore: 3, attempts: 1 });

  await client.call('lab.stop', { id: 'a-process' });
  expect(await client.call('container.list', {})).toEqual([]);
  expect(leftovers(root, [{ id: record.id, pid: record.pid }])).toEqual(NONE_LEFT);

  await expect(client.call('lab.show', { id: 7 } as never)).rejects.toMatchObject({ code: RpcErrorCode.InvalidParams });
  await expect(client.call('lab.show', { id: 'nope' })).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
  await expect(client.call('lab.solve', { id: 'a-process', partial: true })).rejects.toMatchObject({ code: RpcErrorCode.BadInput });
});
