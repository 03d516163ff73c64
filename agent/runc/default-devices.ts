/*
 * The devices every runc container may use whatever config.json's device rules say: runc appends
 * them after the document's own rules (libcontainer/specconv AllowedDevices), so a config that
 * starts with "deny all" — runc spec's, containerd's — still has /dev/null, /dev/zero, /dev/tty,
 * the terminals of its /dev/pts and mknod of anything. Applied here so that this runtime lets the
 * same documents do the same.
 */
import type { OciSpec } from '../protocol';

type DeviceRule = NonNullable<NonNullable<NonNullable<OciSpec['linux']>['resources']>['devices']>[number];

const ALLOWED: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
];

export function withRuncDefaultDevices(spec: OciSpec): OciSpec {
  const resources = spec.linux?.resources;
  if (!resources?.devices) return spec;
  return { ...spec, linux: { ...spec.linux, resources: { ...resources, devices: [...resources.devices, ...ALLOWED] } } };
}
