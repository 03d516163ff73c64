/*
 * OCI hooks in the agent's own runtime (the service's run and remove of a caller's config.json):
 * the same module as containers-lab-runc's (agent/runtime/hooks.ts), at the same points. Real
 * kernel: each hook is /bin/sh recording its stdin (the state) and /proc/self/ns/mnt; the test
 * compares them with the container's own namespaces. A failing createRuntime hook refuses the
 * run and leaves nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import type { ContainerRecord, OciHook, OciSpec } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { leftovers, NONE_LEFT, nsLink } from './helpers/kernel-witness';

let stateRoot: string;
let out: string;
let runtime: ContainerRuntime;
const made: { id: string; pid: number | null }[] = [];
/** What the runtime logged (a failing poststart/poststop hook is a warning there). */
const logged: string[] = [];

const read = (file: string): string => readFileSync(file, 'utf8').trim();

function recorder(phase: string, dir: string, extra = ''): OciHook {
  const script = `echo ${phase} >> ${dir}/order; cat > ${dir}/${phase}.json; readlink /proc/self/ns/mnt > ${dir}/${phase}.mnt; ${extra}`;
  return { path: '/bin/sh', args: ['sh', '-c', script], timeout: 20 };
}

function doc(hooks: OciSpec['hooks']): OciSpec {
  const spec = configFromRunOptions({ net: 'none', args: ['sleep', '60'] }, { rootfs: '/unused' });
  spec.hooks = hooks;
  return spec;
}

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-service-hooks-');
  out = mkdtempSync('/tmp/cl-service-hooks-out-');
  mkdirSync(path.join(stateRoot, 'containers'), { recursive: true });
  runtime = openRuntime({ stateRoot, log: (line) => logged.push(line) });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

describe('OCI hooks in the agent\'s runtime', () => {
  test('all six phases run, in order, with the state; createContainer and startContainer in the container\'s mount namespace', async () => {
    const record: ContainerRecord = await runtime.run({
      name: 'hooked',
      config: doc({
        prestart: [recorder('prestart', out)],
        createRuntime: [recorder('createRuntime', out)],
        createContainer: [recorder('createContainer', out)],
        // inside the container's root: its /tmp is the container's own
        startContainer: [recorder('startContainer', '/tmp')],
        poststart: [recorder('poststart', out)],
        poststop: [recorder('poststop', out)],
      }),
    });
    made.push({ id: record.id, pid: record.pid });
    const pid = record.pid!;
    const bundle = path.join(stateRoot, 'containers', record.id);
    expect(read(path.join(out, 'order')).split('\n')).toEqual(['prestart', 'createRuntime', 'createContainer', 'poststart']);
    expect(JSON.parse(read(path.join(out, 'createRuntime.json')))).toMatchObject({ id: record.id, status: 'created', pid, bundle });
    expect(JSON.parse(read(path.join(out, 'poststart.json')))).toMatchObject({ id: record.id, status: 'running', pid, bundle });
    expect(read(path.join(out, 'createRuntime.mnt'))).toBe(nsLink('self', 'mnt'));
    expect(read(path.join(out, 'createContainer.mnt'))).toBe(nsLink(pid, 'mnt'));
    // startContainer wrote inside the container's root, from inside its mount namespace
    const inside = `/proc/${pid}/root/tmp`;
    expect(read(path.join(inside, 'order'))).toBe('startContainer');
    expect(JSON.parse(read(path.join(inside, 'startContainer.json')))).toMatchObject({ id: record.id, status: 'created', pid });
    expect(read(path.join(inside, 'startContainer.mnt'))).toBe(nsLink(pid, 'mnt'));

    await runtime.remove(record.id, true);
    expect(read(path.join(out, 'order')).split('\n').at(-1)).toBe('poststop');
    expect(JSON.parse(read(path.join(out, 'poststop.json')))).toMatchObject({ id: record.id, status: 'stopped', bundle });
  });

  test('a failing createRuntime hook refuses the run in one line and leaves nothing', async () => {
    const before = runtime.list().length;
    await expect(runtime.run({ name: 'refused', config: doc({ createRuntime: [recorder('failing', out, 'echo cannot plug it in >&2; exit 2')] }) }))
      .rejects.toThrow(/^createRuntime hook #0 \(\/bin\/sh\): exit status 2: cannot plug it in$/);
    const { id, pid } = JSON.parse(read(path.join(out, 'failing.json'))) as { id: string; pid: number };
    made.push({ id, pid });
    expect(runtime.list().length).toBe(before);
    expect(leftovers(stateRoot, [{ id, pid }])).toEqual(NONE_LEFT);
  });

  test('a failing startContainer hook stops and deletes the container before its program runs (runtime-spec lifecycle 9 → 12); poststart failures are warnings', async () => {
    // The hook runs inside the container: it leaves the state where the test reads it, through a bind mount.
    const spec = doc({ startContainer: [recorder('nostart', '/out', 'exit 4')] });
    spec.mounts!.push({ destination: '/out', source: out, options: ['bind'] });
    await expect(runtime.run({ name: 'nostart', config: spec }))
      .rejects.toThrow('container "nostart" was stopped and deleted: startContainer hook #0 (/bin/sh): exit status 4');
    const { id, pid } = JSON.parse(read(path.join(out, 'nostart.json'))) as { id: string; pid: number };
    made.push({ id, pid });
    expect(runtime.list().find((entry) => entry.name === 'nostart')).toBeUndefined();
    // The kernel's view: no process, cgroup, mount or state directory of it is left.
    expect(leftovers(stateRoot, [{ id, pid }])).toEqual(NONE_LEFT);

    const warned = await runtime.run({ name: 'warned', config: doc({ poststart: [{ path: '/bin/false' }] }) });
    made.push({ id: warned.id, pid: warned.pid });
    expect(runtime.inspect(warned.id).status).toBe('running');
    expect(logged).toContain('warning: poststart hook #0 (/bin/false): exit status 1');
    await runtime.remove(warned.id, true);
  });
});
