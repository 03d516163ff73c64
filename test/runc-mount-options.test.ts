/*
 * Mount options runc takes that this runtime used to hand to the filesystem as data (tmpfs then
 * failed with EINVAL, as the OCI validation suite's `mounts` test showed): the propagations shared,
 * rshared, unbindable, runbindable, and flags such as nodiratime. The container's own
 * /proc/self/mountinfo is the witness: shared:N for a shared mount, "unbindable" for an unbindable one.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parseMountOptions } from '../agent/runtime/mount-options';
import { MS_NODIRATIME, MS_SHARED, MS_UNBINDABLE } from '../agent/kernel/constants';
import { cgroupDirsNamed } from './helpers/kernel-witness';
import { makeBundle, runc, useRuncScratch } from './helpers/runc';

const scratch = useRuncScratch('runcmore-mountopts-');

test('propagation words are propagations, not filesystem data', () => {
  expect(parseMountOptions(['shared', 'nodiratime', 'size=1k'])).toEqual({ flags: MS_NODIRATIME, data: 'size=1k', propagation: MS_SHARED });
  expect(parseMountOptions(['unbindable']).propagation).toBe(MS_UNBINDABLE);
});

test('a tmpfs with "shared" and a bind with "runbindable" are mounted so (the container\'s mountinfo)', () => {
  const bundle = makeBundle(join(scratch(), 'bundle'), join(scratch(), 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'grep -E " /(shared|unbindable) " /proc/self/mountinfo'];
    spec.mounts!.push(
      { destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['shared', 'size=1k', 'nodiratime'] },
      { destination: '/unbindable', source: '/etc', options: ['rbind', 'runbindable'] },
    );
  });
  const id = `runcmore-mountopts-${process.pid}`;
  const result = runc(join(scratch(), 'root'), ['run', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines.find((line) => line.includes(' /shared '))).toMatch(/ shared:\d+ (.* )?- tmpfs /);
  expect(lines.find((line) => line.includes(' /shared '))).toMatch(/nodiratime/);
  expect(lines.find((line) => line.includes(' /unbindable '))).toMatch(/ unbindable /);
  expect(cgroupDirsNamed(id)).toEqual([]);
});
