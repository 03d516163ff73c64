/*
 * A pod's volumes on the real kernel: an emptyDir with medium Memory is ONE tmpfs of the pod's
 * (sized by sizeLimit), the same superblock in every container that mounts it — read from each
 * container's /proc/<pid>/mountinfo — and gone after delete.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseMountinfo } from '../agent/runtime/cgroups/discovery';
import { execCollect } from './helpers/exec';
import { usePods } from './helpers/pods';

const fixture = usePods('podsrest-volumes', 'podsrest0', '10.173.58.0/24');

const LOOP = 'trap \'exit 0\' TERM; while :; do sleep 1; done';
const CACHE = `apiVersion: v1
kind: Pod
metadata:
  name: podsrest-cache
spec:
  securityContext:
    fsGroup: 2345
  volumes:
  - name: cache
    emptyDir:
      medium: Memory
      sizeLimit: 16Mi
  - name: disk
    emptyDir: {}
  containers:
  - name: writer
    image: busybox
    command: ["sh", "-c", "${LOOP}"]
    volumeMounts:
    - name: cache
      mountPath: /cache
    - name: disk
      mountPath: /disk
  - name: reader
    image: busybox
    command: ["sh", "-c", "${LOOP}"]
    volumeMounts:
    - name: cache
      mountPath: /data/cache
      readOnly: true
`;

const mountAt = (pid: number, point: string) => parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).find((line) => line.mountPoint === point);

describe('emptyDir medium Memory', () => {
  test('one tmpfs per pod volume, shared by its containers, removed with the pod', async () => {
    const engine = fixture.engine();
    const runtime = fixture.runtime();
    const stateRoot = runtime.info().stateRoot;
    await engine.apply(CACHE, 'cache.yaml');
    const pod = await fixture.waitFor('podsrest-cache', (p) => p.status.phase === 'Running' && p.status.containerStatuses.every((s) => s.ready));
    const [writer, reader] = pod.status.containerStatuses.map((s) => runtime.inspect(s.containerID!));

    // The kernel's view: both mount points are tmpfs on the same superblock (one device number), sized 16Mi.
    const inWriter = mountAt(writer!.pid!, '/cache');
    const inReader = mountAt(reader!.pid!, '/data/cache');
    expect(inWriter?.fstype).toBe('tmpfs');
    expect(inReader?.fstype).toBe('tmpfs');
    expect(inReader!.device).toBe(inWriter!.device);
    expect(inWriter!.superOptions).toContain('size=16384k');
    // The host holds exactly one mount of that superblock: the pod's volume directory.
    const onHost = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((line) => line.device === inWriter!.device);
    expect(onHost.map((line) => line.mountPoint)).toEqual([`${stateRoot}/pods/podsrest-cache/volumes/cache`]);
    // A disk emptyDir is no tmpfs.
    expect(mountAt(writer!.pid!, '/disk')?.fstype).not.toBe('tmpfs');

    // Written by one container, read by the other; the reader's mount is read-only.
    expect((await execCollect(runtime, writer!.id, ['sh', '-c', 'echo shared-through-ram > /cache/note'])).code).toBe(0);
    expect((await execCollect(runtime, reader!.id, ['cat', '/data/cache/note'])).stdout).toBe('shared-through-ram\n');
    expect((await execCollect(runtime, reader!.id, ['sh', '-c', 'echo no > /data/cache/other'])).code).not.toBe(0);
    // sizeLimit is the tmpfs's size: writing past 16Mi fails with ENOSPC.
    const full = await execCollect(runtime, writer!.id, ['dd', 'if=/dev/zero', 'of=/cache/big', 'bs=1M', 'count=20']);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left/);
    // fsGroup: the volume is the group's, setgid.
    expect((await execCollect(runtime, writer!.id, ['stat', '-c', '%g %a', '/cache'])).stdout).toBe('2345 2777\n');

    await engine.delete({ name: 'podsrest-cache', gracePeriodSeconds: 0 });
    const after = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    expect(after.filter((line) => line.device === inWriter!.device || line.mountPoint.startsWith(stateRoot))).toEqual([]);
  }, 60_000);
});
