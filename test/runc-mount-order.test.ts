/*
 * config.json's mounts appear in the container's mount table in the config's order (the
 * runtime-spec's "mounts … in order", the OCI validation suite's `mounts[i] found in order`),
 * although the first process mounts /proc itself from inside its PID namespace while the runtime
 * mounts the others from outside. The witness is the container's own /proc/self/mountinfo, which
 * lists mounts in the order they were made.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { OciSpec } from '../agent/protocol';
import { mountPhases } from '../agent/runtime/rootfs';
import { cgroupDirsNamed } from './helpers/kernel-witness';
import { makeBundle, runc, useRuncScratch } from './helpers/runc';

const scratch = useRuncScratch('runcmore-mountorder-');

/** The mount points of the container's mountinfo, in the kernel's order. */
const PRINT_TARGETS = ['sh', '-c', "awk '{ print $5 }' /proc/self/mountinfo"];

function mountTargetsInside(name: string, patch: (spec: OciSpec) => void): { targets: string[]; spec: OciSpec } {
  let made: OciSpec | null = null;
  const bundle = makeBundle(join(scratch(), name), join(scratch(), 'images'), (spec) => {
    spec.process!.args = PRINT_TARGETS;
    patch(spec);
    made = spec;
  });
  const id = `runcmore-mountorder-${name}-${process.pid}`;
  const result = runc(join(scratch(), 'root'), ['run', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(cgroupDirsNamed(id)).toEqual([]);
  return { targets: result.stdout.trim().split('\n'), spec: made! };
}

/** Where each of config.json's mounts is in the container's mountinfo (its first appearance). */
function positions(targets: string[], spec: OciSpec): number[] {
  return (spec.mounts ?? []).map((m) => targets.indexOf(m.destination));
}

function expectIncreasing(indexes: number[]): void {
  expect(indexes.every((index) => index >= 0)).toBe(true);
  expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
}

test('the default config (/proc first): /proc comes first in the container\'s mountinfo, the others after it in order', () => {
  const { targets, spec } = mountTargetsInside('default', () => undefined);
  expect(spec.mounts![0]!.destination).toBe('/proc');
  const found = positions(targets, spec);
  expectIncreasing(found);
  expect(targets.indexOf('/proc')).toBeLessThan(targets.indexOf('/dev'));
});

test('/proc between two tmpfs mounts stays between them; /proc at the end stays last', () => {
  const middle = mountTargetsInside('middle', (spec) => {
    const proc = spec.mounts!.find((m) => m.type === 'proc')!;
    const others = spec.mounts!.filter((m) => m !== proc);
    spec.mounts = [
      ...others,
      { destination: '/before-proc', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] },
      proc,
      { destination: '/after-proc', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] },
    ];
  });
  expectIncreasing(positions(middle.targets, middle.spec));
  expect(middle.targets.indexOf('/before-proc')).toBeLessThan(middle.targets.indexOf('/proc'));
  expect(middle.targets.indexOf('/proc')).toBeLessThan(middle.targets.indexOf('/after-proc'));

  const last = mountTargetsInside('last', (spec) => {
    const proc = spec.mounts!.find((m) => m.type === 'proc')!;
    spec.mounts = [...spec.mounts!.filter((m) => m !== proc), proc];
  });
  expectIncreasing(positions(last.targets, last.spec));
});

test('the mounts are split at the first proc mount', () => {
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    mounts: [
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/sys', type: 'sysfs', source: 'sysfs' },
    ],
  };
  const phases = mountPhases(spec);
  expect(phases.beforeProc.map((m) => m.destination)).toEqual(['/dev']);
  expect(phases.proc?.destination).toBe('/proc');
  expect(phases.afterProc.map((m) => m.destination)).toEqual(['/sys']);
  expect(mountPhases({ ...spec, mounts: [spec.mounts![0]!] }).afterProc).toEqual([]);
});
