/*
 * The device rules as the kernel holds them now, next to the rules config.json asked for.
 *
 * cgroup v1 keeps a list per cgroup and prints it in devices.list ("c 1:3 rwm" per line, or just
 * "a *:* rwm" while the default is allow). cgroup v2 keeps no list at all: what decides is the
 * eBPF program attached to the cgroup's directory, which BPF_PROG_QUERY names by its id
 * (`bpftool prog dump xlated id N` prints its instructions). Reading both here lets the views
 * point at the kernel object itself, not only at the document.
 */
import { readFileSync } from 'node:fs';
import type { CgroupDevicesRecord, CgroupRecord } from '../protocol';
import { deviceProgramsOf } from '../runtime/cgroups/device-filter';

/** `devices` with what the kernel holds now added: the v1 list and the v2 program ids (where each exists). */
export function withKernelDeviceAccess(devices: CgroupDevicesRecord | null, cgroup: CgroupRecord): CgroupDevicesRecord | null {
  if (!devices) return devices;
  const seen: CgroupDevicesRecord = { ...devices };
  const listFile = cgroup.files.devices;
  if (devices.mechanisms.includes('devices.list') && listFile) {
    const list = readOrNull(() => readFileSync(listFile, 'utf8').split('\n').filter((line) => line !== ''));
    if (list) seen.list = list;
  }
  const unified = cgroup.directories.unified;
  if (devices.mechanisms.includes('ebpf') && unified) {
    const programs = readOrNull(() => deviceProgramsOf(unified));
    if (programs) seen.programs = programs;
  }
  return seen;
}

/** A cgroup removed underneath the reader has nothing to show: the record keeps the document's rules. */
function readOrNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
