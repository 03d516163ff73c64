/*
 * The lab engine's own rules, on real containers: what a learner reads never shows a raw
 * {{placeholder}}; an attempt ends when its time is up (on the service's clock, or at the next
 * command when nobody watched) with the score it had, and leaves nothing; the reference solution
 * is recorded as the reference's, not the learner's; and two state roots on one host get lab
 * networks of their own from the pool, never one the host already uses.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabEngine, type LabEngineOptions } from '../agent/labs/engine';
import { allocateNetworks, releaseNetworks, RESERVATIONS_DIRECTORY } from '../agent/labs/networks';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import type { LabNotifications } from '../agent/protocol';
import { attemptNetworks, LABS_DIRECTORY } from './labs-harness';
import { hostLinkNames, ipJson, leftovers, NONE_LEFT, removeBridgeIfCreated } from './helpers/kernel-witness';

const BRIDGE = 'cllabeng0';
const SUBNET = '10.77.131.0/24';
const PLACEHOLDER = /\{\{[^}]*\}\}/;

interface Root {
  stateRoot: string;
  runtime: ContainerRuntime;
  engine: LabEngine;
}
const roots: Root[] = [];
const made: { id: string; pid: number | null }[] = [];
let removeSuiteBridge: () => void;

function openRoot(options: Partial<LabEngineOptions> = {}): Root {
  const stateRoot = mkdtempSync('/tmp/cl-labs-engine-');
  const runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });
  runtime.events.on('container.changed', ({ id, summary }) => made.push({ id, pid: summary.pid }));
  const root = { stateRoot, runtime, engine: new LabEngine(runtime, { stateRoot, labsDirectory: LABS_DIRECTORY, ...options }) };
  roots.push(root);
  return root;
}

beforeAll(() => {
  removeSuiteBridge = removeBridgeIfCreated(BRIDGE);
});

afterAll(async () => {
  for (const { runtime, engine, stateRoot } of roots) {
    engine.close();
    for (const summary of runtime.list()) await runtime.remove(summary.id, true);
    runtime.close();
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    rmSync(stateRoot, { recursive: true, force: true });
  }
  removeSuiteBridge();
});

describe('nothing a learner reads is a raw placeholder', () => {
  test('task, hints, check titles and the solution of every lab, before a start and during one', async () => {
    const { engine } = openRoot();
    for (const lab of engine.list()) {
      const before = engine.show(lab.id);
      const texts = [before.task, ...before.hints, ...before.checks.flatMap((check) => [check.title, check.hint ?? '']), ...engine.solution(lab.id).steps];
      for (const text of texts) expect(text, `${lab.id}: ${text}`).not.toMatch(PLACEHOLDER);
    }
    // During an attempt: the bridge it got, the real host end of web15's veth, the messages of failed checks.
    await engine.start('troubleshoot-veth-down');
    const network = attemptNetworks(roots[0]!.stateRoot, 'troubleshoot-veth-down').main!;
    expect(engine.show('troubleshoot-veth-down').task).toContain(`bridge **${network.bridge}**`);
    const veth = roots[0]!.runtime.inspect('web15').network.vethHost!;
    expect(engine.solution('troubleshoot-veth-down').steps).toEqual([`ip link set ${veth} up`]);
    const report = await engine.check('troubleshoot-veth-down');
    for (const check of report.checks) expect(check.message).not.toMatch(PLACEHOLDER);
    expect(report.checks.find((check) => check.id === 'link-up')!.message).toContain(`not up on ${network.bridge}`);
    await engine.stop('troubleshoot-veth-down');
    // Stopped: the solution names what it will be again.
    expect(engine.solution('troubleshoot-veth-down').steps).toEqual(['ip link set ‹the host end of the veth of web15› up']);
  });
});

describe('time limits end the attempt', () => {
  test('on the service clock: at the deadline the score of that moment is recorded, the scenario is removed, the learner may start again', async () => {
    // A minute of this engine lasts 300 ms: uts-namespace's 10 minutes are 3 s.
    const { engine, runtime, stateRoot } = openRoot({ watchDeadlines: true, minuteMs: 300 });
    const changes: LabNotifications['lab.changed'][] = [];
    engine.events.on('lab.changed', (change) => changes.push(change));
    const started = await engine.start('uts-namespace');
    expect(Date.parse(started.deadline) - Date.parse(started.startedAt)).toBe(3_000);
    await runtime.run({ name: 'named', args: ['sleep', '3600'] }); // own UTS namespace, the wrong hostname: 2 of 4
    const pid = runtime.inspect('named').pid;
    const timeUp = (): LabNotifications['lab.changed'] | undefined => changes.find((change) => change.progress.lastEnded?.reason === 'time-up');
    await expect.poll(timeUp, { timeout: 10_000, interval: 100 }).toBeDefined();
    expect(changes[0]!.progress).toMatchObject({ startedAt: started.startedAt, deadline: started.deadline }); // the start was announced too
    expect(timeUp()).toMatchObject({ id: 'uts-namespace', progress: { startedAt: null, deadline: null, lastScore: 2, attempts: 1, completed: false, lastEnded: { reason: 'time-up', at: started.deadline, score: 2 } } });
    expect(runtime.list()).toEqual([]);
    expect(pid === null || !existsSync(`/proc/${pid}`)).toBe(true);
    expect(existsSync(join(stateRoot, 'labs', 'work', 'uts-namespace'))).toBe(false);
    await expect(engine.check('uts-namespace')).rejects.toThrow('lab "uts-namespace" is not started (its last attempt ran out of time with 2/4)');
    await engine.start('uts-namespace');
    expect(engine.list().find((lab) => lab.id === 'uts-namespace')!.progress).toMatchObject({ lastEnded: { reason: 'time-up' }, deadline: expect.any(String) });
    await engine.stop('uts-namespace');
    expect(engine.list().find((lab) => lab.id === 'uts-namespace')!.progress.lastEnded).toMatchObject({ reason: 'stopped', score: null });
  });

  test('with nobody watching (the CLI alone): the next command ends it with the last check made in time', async () => {
    const { engine, runtime } = openRoot({ minuteMs: 300 });
    const started = await engine.start('uts-namespace');
    await runtime.run({ name: 'named', args: ['sleep', '3600'] });
    expect((await engine.check('uts-namespace')).score).toBe(2);
    // After the deadline the learner fixes everything — too late to count.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(started.deadline) - Date.now() + 100)));
    await expect(engine.check('uts-namespace')).rejects.toThrow(`time is up for lab "uts-namespace": the attempt ended at ${started.deadline} with 2/4`);
    expect(runtime.list()).toEqual([]);
    expect(engine.list().find((lab) => lab.id === 'uts-namespace')!.progress).toMatchObject({ startedAt: null, bestScore: 2, completed: false, lastEnded: { reason: 'time-up', score: 2 } });
  });
});

describe('lab networks come from a pool', () => {
  test('two state roots run the same troubleshooting lab at once, each on its own bridge and subnet; stop returns them', async () => {
    const [one, two] = [openRoot(), openRoot()];
    await Promise.all([one.engine.start('troubleshoot-wrong-bridge'), two.engine.start('troubleshoot-wrong-bridge')]);
    const [a, b] = [attemptNetworks(one.stateRoot, 'troubleshoot-wrong-bridge'), attemptNetworks(two.stateRoot, 'troubleshoot-wrong-bridge')];
    const all = [a.main!, a.stray!, b.main!, b.stray!];
    expect(new Set(all.map((network) => network.bridge)).size).toBe(4);
    expect(new Set(all.map((network) => network.subnet)).size).toBe(4);
    // The kernel's view: each db sits on its own attempt's bridge, with an address of that subnet.
    for (const [root, networks] of [[one, a], [two, b]] as const) {
      const db = root.runtime.inspect('db');
      expect(ipJson<{ master?: string }[]>(['link', 'show', 'dev', db.network.vethHost!])[0]!.master).toBe(networks.main!.bridge);
      expect(db.network.ip!.split('.').slice(0, 3).join('.')).toBe(networks.main!.subnet.split('.').slice(0, 3).join('.'));
    }
    const [solvedOne, solvedTwo] = await Promise.all([one.engine.solve('troubleshoot-wrong-bridge'), two.engine.solve('troubleshoot-wrong-bridge')]);
    expect([solvedOne.passed, solvedTwo.passed]).toEqual([true, true]);
    await Promise.all([one.engine.stop('troubleshoot-wrong-bridge'), two.engine.stop('troubleshoot-wrong-bridge')]);
    const links = hostLinkNames();
    for (const network of all) {
      expect(links).not.toContain(network.bridge);
      expect(existsSync(join(RESERVATIONS_DIRECTORY, network.bridge))).toBe(false);
    }
  });

  test('a subnet the host already uses, and a link of a candidate name, are skipped; a stale reservation is reclaimed', () => {
    const reservations = mkdtempSync('/tmp/cl-labs-engine-reservations-');
    const owner = { stateRoot: '/nonexistent', lab: 'x', token: 't' };
    // The first two candidates free right now: the host takes the first's subnet (on a link of
    // another name) and the second's name (a bridge that is not ours).
    const free = allocateNetworks(['first', 'second'], owner, reservations);
    const at = (network: { bridge: string }): number => Number(network.bridge.slice('clab'.length));
    releaseNetworks(free, owner, reservations);
    const [first, second] = [free.first!, free.second!];
    const dummy = `cltaken${first.bridge.slice('clab'.length)}`;
    execFileSync('ip', ['link', 'add', dummy, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', first.subnet.replace(/\.0\/24$/, '.77/24'), 'dev', dummy]);
    execFileSync('ip', ['link', 'add', second.bridge, 'type', 'bridge']);
    try {
      const taken = allocateNetworks(['a', 'b'], owner, reservations, at(free.first!));
      for (const network of Object.values(taken)) {
        expect([first.bridge, second.bridge]).not.toContain(network.bridge);
        expect([first.subnet, second.subnet]).not.toContain(network.subnet);
      }
      // Their owner's state root lists no such attempt: they are stale, and the next allocation takes the first one over.
      const next = allocateNetworks(['c'], { ...owner, token: 'other' }, reservations, at(taken.a!));
      expect(next.c).toEqual(taken.a);
      expect(readdirSync(reservations).sort()).toEqual([taken.a!.bridge, taken.b!.bridge].sort());
    } finally {
      execFileSync('ip', ['link', 'del', dummy]);
      execFileSync('ip', ['link', 'del', second.bridge]);
      rmSync(reservations, { recursive: true, force: true });
    }
  });
});
