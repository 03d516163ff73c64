/*
 * Every field of an OCI runtime-spec 1.1 config.json for Linux (config.md, config-linux.md), and
 * what this runtime does with it: applied — the kernel holds it once the container is created —
 * or refused with one line naming the field, before anything exists. Nothing is ignored: a
 * document that asks for something the container would not get does not make a container. An
 * empty value (false, "", 0, [] or {}) asks for nothing and passes everywhere.
 *
 *  field                                  verdict   how (where)
 *  ─────────────────────────────────────  ────────  ───────────────────────────────────────────────
 *  ociVersion                             applied   1.x accepted; another major version refused
 *  root.path                              applied   the root is always an overlay of the busybox image:
 *                                                   the path is rewritten to its merged directory (record)
 *  root.readonly                          applied   read-only remount of / (runtime/rootfs.ts)
 *  mounts[] destination/type/source/opts  applied   runtime/rootfs.ts, runtime/mount-options.ts
 *  mounts[].uidMappings/gidMappings       refused   idmapped mounts
 *  process                                required  "/process is required to run a container"
 *  process.args                           applied   at least one entry (the program), resolved in PATH
 *  process.cwd                            applied   absolute; made (mode 0755) if the image lacks it, as
 *                                                   runc does; without a mount namespace it must exist
 *  process.env                            applied   the program's environment
 *  process.terminal                       applied   a pty from the container's own devpts as stdin/out/err and
 *                                                   controlling tty, kept open by a keeper that copies it into
 *                                                   the log (runtime/process/main-terminal.ts); consoleSize sizes it
 *  process.user.uid/gid/additionalGids    applied   setresuid/setresgid/setgroups; 4294967295 (the kernel's
 *                                                   "-1", no change) refused; mapped ids only in a userns
 *  process.user.umask                     applied   umask(2) in the child           /proc/<pid>/status
 *  process.user.username                  refused   Windows only
 *  process.commandLine                    refused   Windows only
 *  process.capabilities                   applied   runtime/capabilities.ts
 *                                                   only what the runtime's bounding set holds (runtime/held-capabilities.ts)
 *  process.noNewPrivileges                applied   prctl(PR_SET_NO_NEW_PRIVS)
 *  process.rlimits[]                      applied   prlimit64(2) in the child        /proc/<pid>/limits
 *                                                   a hard limit above the agent's own needs CAP_SYS_RESOURCE:
 *                                                   refused where the agent lacks it
 *  process.oomScoreAdj                    applied   /proc/<pid>/oom_score_adj (below the agent's own needs
 *                                                   CAP_SYS_RESOURCE: refused where the agent lacks it)
 *  process.scheduler                      applied   sched_setattr(2)                 /proc/<pid>/stat
 *  process.ioPriority                     applied   ioprio_set(2)                    ioprio_get(2)
 *  process.apparmorProfile                refused   no AppArmor here
 *  process.selinuxLabel                   refused   no SELinux here
 *  hostname                               applied   sethostname(2) in its UTS namespace, own or joined (none: refused)
 *  domainname                             applied   kernel.domainname in its own UTS namespace (else refused)
 *  hooks.*                                applied   the six phases, state on stdin, timeouts (runtime/hooks.ts)
 *  annotations                            applied   kept in the record; lab.containers.* are read
 *  linux.namespaces[]                     applied   clone(2) flags; network/ipc/uts/pid/mount may be joined by path
 *  linux.namespaces[] type "time"         refused   with linux.timeOffsets
 *  linux.uidMappings/gidMappings          applied   /proc/<pid>/uid_map, gid_map (refused without a userns)
 *  linux.devices[]                        applied   mknod in the container's /dev, below /dev only, plus an
 *                                                   "allow rwm" device rule each (runtime/device-nodes.ts)
 *  linux.cgroupsPath                      applied   <agent's own cgroup>/<path>, v1 and v2 (runtime/cgroups/
 *                                                   placement.ts); ".." refused             /proc/<pid>/cgroup
 *                                                   (containers-lab-runc: an absolute path from the top, as runc)
 *  linux.resources.devices                applied   runtime/cgroups/device-rules.ts
 *  linux.resources.memory.limit           applied   memory.limit_in_bytes | memory.max
 *  linux.resources.cpu.quota/period       applied   cpu.cfs_quota_us + cpu.cfs_period_us | cpu.max
 *  linux.resources.pids.limit             applied   pids.max
 *  linux.resources.memory.*, cpu.*,       see runtime/cgroups/resource-files.ts: applied where this host's
 *    hugepageLimits, unified                        cgroup version has the file (reservation, swap, shares,
 *                                                   burst, idle, …; v2: hugepage limits, unified), else refused
 *  linux.resources.memory.kernel          ignored   with a warning, as runc 1.1: current kernels ignore the write
 *  linux.resources.cpu.cpus/mems          applied   cpuset.cpus/cpuset.mems, v1 and v2 (runtime/cgroups/cpuset.ts)
 *  linux.resources.blockIO/network/rdma   refused   those controllers are not made for containers
 *  linux.intelRdt                         refused   no resctrl here
 *  linux.sysctl                           applied   namespaced ones only, written inside the container's
 *                                                   namespace (runtime/sysctl.ts); others refused
 *  linux.seccomp                          applied   runtime/seccomp.ts; flags other than TSYNC and a
 *                                                   listenerPath (SCMP_ACT_NOTIFY) refused
 *  linux.rootfsPropagation                applied   runtime/rootfs.ts rootPropagation: private (the default),
 *                                                   slave, shared, unbindable and their r… forms
 *  linux.maskedPaths/readonlyPaths        applied   runtime/rootfs.ts restrictPaths
 *  linux.mountLabel                       ignored   with a warning where SELinux is off (as crun; there is no label
 *                                                   to give a mount); refused where SELinux is on
 *  linux.personality                      applied   personality(2), domain LINUX/LINUX32; flags refused
 *  linux.timeOffsets                      refused   no time namespaces
 *  solaris, windows, vm, zos              refused   other platforms
 *
 * realisationPlan() walks a schema-valid document against this table and returns what create
 * needs to apply the rest: the process settings, the sysctl writes, the cgroup's place and its
 * extra files. A key the table lacks is no field of runtime-spec 1.1. The spec says a runtime MUST
 * ignore such a property, and containers-lab-runc does, with a warning for each. The lab's own
 * service refuses it instead: there a typo in a learner's document is named, not dropped.
 */
import { existsSync, statSync } from 'node:fs';
import type { NamespaceType, OciHook, OciSpec } from '../protocol';
import { cgroupsPathProblem, placementFrom, type CgroupHost } from '../runtime/cgroups';
import { resourcePlanFor, type ResourceWrite } from '../runtime/cgroups/resource-files';
import { checkDeviceNodes } from '../runtime/device-nodes';
import type { CapabilityName } from '../protocol/capabilities';
import { heldCapabilities, refuseCapabilitiesNotHeld } from '../runtime/held-capabilities';
import { hostProcessFacts, processSettingsFor, type ProcessFacts, type ProcessSettings } from '../runtime/process/process-settings';
import { sysctlPlanFor, type SysctlWrite } from '../runtime/sysctl';
import { ROOTFS_PROPAGATIONS } from '../runtime/rootfs';
import { hostIdFor } from '../runtime/user-namespace';
import { joinedNamespacesFromConfig, namespacesFromConfig } from './from-run-options';
import { configFieldError, unknownField, type UnknownFields } from './validate';

type Rule = { applied: true } | { refused: string } | { ignored: string } | { object: Record<string, Rule> };

const APPLIED: Rule = { applied: true };
const refused = (why: string): Rule => ({ refused: why });
const OTHER_PLATFORM = refused('is not supported by this runtime: it is for another platform');

const FIELDS: Record<string, Rule> = {
  ociVersion: APPLIED,
  root: { object: { path: APPLIED, readonly: APPLIED } },
  mounts: APPLIED,
  process: {
    object: {
      terminal: APPLIED, consoleSize: APPLIED, cwd: APPLIED, env: APPLIED, args: APPLIED, rlimits: APPLIED,
      capabilities: { object: { bounding: APPLIED, effective: APPLIED, inheritable: APPLIED, permitted: APPLIED, ambient: APPLIED } },
      noNewPrivileges: APPLIED, oomScoreAdj: APPLIED, scheduler: APPLIED, ioPriority: APPLIED,
      user: { object: { uid: APPLIED, gid: APPLIED, umask: APPLIED, additionalGids: APPLIED, username: refused('is not supported by this runtime: Windows only') } },
      commandLine: refused('is not supported by this runtime: Windows only'),
      apparmorProfile: refused('is not supported by this runtime: this host has no AppArmor'),
      selinuxLabel: refused('is not supported by this runtime: this host has no SELinux'),
    },
  },
  hostname: APPLIED,
  domainname: APPLIED,
  hooks: APPLIED,
  annotations: APPLIED,
  linux: {
    object: {
      namespaces: APPLIED, uidMappings: APPLIED, gidMappings: APPLIED, resources: APPLIED, cgroupsPath: APPLIED,
      sysctl: APPLIED, maskedPaths: APPLIED, readonlyPaths: APPLIED, personality: APPLIED, rootfsPropagation: APPLIED,
      seccomp: {
        object: {
          defaultAction: APPLIED, defaultErrnoRet: APPLIED, architectures: APPLIED, syscalls: APPLIED, flags: APPLIED,
          listenerPath: refused('is not supported by this runtime: no seccomp agent receives SCMP_ACT_NOTIFY'),
          listenerMetadata: refused('is not supported by this runtime: no seccomp agent receives SCMP_ACT_NOTIFY'),
        },
      },
      devices: APPLIED,
      mountLabel: { ignored: 'is ignored: SELinux is not enabled on this host, so no mount has a label to get (as crun)' },
      intelRdt: refused('is not supported by this runtime'),
      timeOffsets: refused('is not supported by this runtime: it makes no time namespaces'),
    },
  },
  solaris: OTHER_PLATFORM, windows: OTHER_PLATFORM, vm: OTHER_PLATFORM, zos: OTHER_PLATFORM,
};

const MOUNT_FIELDS: Record<string, Rule> = {
  destination: APPLIED, source: APPLIED, type: APPLIED, options: APPLIED,
  uidMappings: refused('is not supported by this runtime: no idmapped mounts'),
  gidMappings: refused('is not supported by this runtime: no idmapped mounts'),
};

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Refuses the first field the table refuses, depth first in document order; says each one it ignores in `warnings`. */
function walk(value: unknown, rules: Record<string, Rule>, at: string[], unknown: UnknownFields, warnings: string[]): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return warnings;
  for (const [key, child] of Object.entries(value)) {
    const rule = rules[key];
    if (!rule) {
      unknownField([...at, key], unknown, warnings);
      continue;
    }
    if ('refused' in rule && !isEmpty(child)) throw configFieldError([...at, key], rule.refused);
    if ('ignored' in rule && !isEmpty(child)) warnings.push(`${[...at, key].join('.')} ${rule.ignored}`);
    if ('object' in rule) walk(child, rule.object, [...at, key], unknown, warnings);
  }
  return warnings;
}

/** Whether the kernel enforces SELinux policy (selinuxfs is mounted where libselinux looks). */
function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}

/** What this host offers, asked only when a document needs it. */
export interface HostFacts extends ProcessFacts {
  cgroupVersion: 1 | 2;
  /** The controllers of the cgroup v2 hierarchy containers are made in (empty on v1). */
  v2Controllers: readonly string[];
  /** The runtime's own bounding set: no capability outside it can be handed on (../runtime/held-capabilities.ts). */
  heldCapabilities(): readonly CapabilityName[];
}

export function hostFacts(cgroups: CgroupHost): HostFacts {
  return { ...hostProcessFacts, cgroupVersion: cgroups.version, v2Controllers: cgroups.version === 2 ? cgroups.layout.v2?.controllers ?? [] : [], heldCapabilities: () => heldCapabilities() };
}

/** What create applies beyond what it always did, from a document realisationPlan accepted. */
export interface RealisationPlan {
  process: ProcessSettings | null;
  sysctls: SysctlWrite[];
  cgroup: { at?: string; required: string[]; writes: ResourceWrite[]; warnings: string[] };
  /** Fields accepted and not applied, one line each (said once, in the runtime's log or on stderr). */
  warnings: string[];
}

const UNCHANGED_ID = 4294967295;

/**
 * Checks `spec` (already schema-valid) against the table above and the host's `facts`; throws one
 * line naming the first field this runtime would not realise. Returns what create must apply.
 */
export function realisationPlan(spec: OciSpec, facts: HostFacts, unknown: UnknownFields = 'refuse'): RealisationPlan {
  const warnings = walk(spec, FIELDS, [], unknown, []);
  if (!isEmpty(spec.linux?.mountLabel) && selinuxEnabled()) throw configFieldError(['linux', 'mountLabel'], 'is not supported by this runtime: it gives no SELinux labels');
  if (!/^1\.\d+\.\d+/.test(spec.ociVersion)) throw configFieldError(['ociVersion'], `${JSON.stringify(spec.ociVersion.slice(0, 20))} is not supported by this runtime (it implements 1.1)`);
  const processSpec = spec.process;
  if (!processSpec) throw configFieldError(['process'], 'is required to run a container');
  const types = namespacesFromConfig(spec);
  const joined = joinedNamespacesFromConfig(spec).map((entry) => entry.type);
  const own = (type: NamespaceType): boolean => types.includes(type) && !joined.includes(type);

  if (!Array.isArray(processSpec.args) || processSpec.args.length === 0 || processSpec.args[0] === '') {
    throw configFieldError(['process', 'args'], 'needs at least one entry: the program to run');
  }
  if (!processSpec.cwd.startsWith('/')) throw configFieldError(['process', 'cwd'], `${JSON.stringify(processSpec.cwd.slice(0, 40))} must be an absolute path`);
  if (!types.includes('mnt') && !isHostDirectory(processSpec.cwd)) {
    throw configFieldError(['process', 'cwd'], `${JSON.stringify(processSpec.cwd.slice(0, 40))} is not a directory on the host, whose root the container shares`);
  }
  if (processSpec.terminal === true && types.includes('mnt') && !spec.mounts?.some((mount) => mount.destination === '/dev/pts' && mount.type === 'devpts')) {
    throw configFieldError(['process', 'terminal'], 'needs a devpts mount at /dev/pts: the terminal is made in the container\'s own /dev/pts');
  }
  checkUser(spec, types.includes('user'));
  // Before anything exists: capset(2) in the child would fail with nobody to tell (runc: "unable to apply caps").
  refuseCapabilitiesNotHeld(spec, facts.heldCapabilities());
  // A hook's path is execve(2)'s: relative, it would resolve against whatever the working directory is then.
  for (const [phase, hooks] of Object.entries(spec.hooks ?? {}) as [string, OciHook[] | undefined][]) {
    (hooks ?? []).forEach((hook, index) => {
      if (!hook.path.startsWith('/')) throw configFieldError(['hooks', phase, index, 'path'], `${JSON.stringify(hook.path.slice(0, 40))} must be an absolute path`);
    });
  }

  // As runc: a UTS namespace joined by path gets the hostname too (whoever shares it sees the change).
  if (spec.hostname !== undefined && spec.hostname !== '' && !types.includes('uts')) throw configFieldError(['hostname'], 'needs a UTS namespace in linux.namespaces (its own, or one joined by path)');
  spec.linux?.namespaces?.forEach((entry, index) => {
    if (entry.type === 'time') throw configFieldError(['linux', 'namespaces', index], 'is a time namespace: not supported by this runtime');
  });
  for (const field of ['uidMappings', 'gidMappings'] as const) {
    if ((spec.linux?.[field] ?? []).length > 0 && !types.includes('user')) throw configFieldError(['linux', field], 'needs a user namespace (linux.namespaces has none)');
  }
  spec.mounts?.forEach((mount, index) => walk(mount, MOUNT_FIELDS, ['mounts', String(index)], unknown, warnings));
  const propagation = spec.linux?.rootfsPropagation;
  if (propagation !== undefined && propagation !== '' && !Object.hasOwn(ROOTFS_PROPAGATIONS, propagation)) {
    throw configFieldError(['linux', 'rootfsPropagation'], `${JSON.stringify(propagation)} is not a propagation (${Object.keys(ROOTFS_PROPAGATIONS).join(', ')})`);
  }
  const flags = (spec.linux?.seccomp as { flags?: string[] } | undefined)?.flags ?? [];
  const flag = flags.find((name) => name !== 'SECCOMP_FILTER_FLAG_TSYNC');
  if (flag !== undefined) throw configFieldError(['linux', 'seccomp', 'flags'], `${flag} is not supported by this runtime`);

  checkDeviceNodes(spec, own('mnt'));

  const cgroupsPath = spec.linux?.cgroupsPath;
  let at: string | undefined;
  if (cgroupsPath !== undefined && cgroupsPath !== '') {
    const problem = cgroupsPathProblem(cgroupsPath);
    if (problem) throw configFieldError(['linux', 'cgroupsPath'], `${JSON.stringify(cgroupsPath.slice(0, 40))} ${problem}`);
    at = placementFrom(cgroupsPath);
  }
  const resources = resourcePlanFor(spec.linux?.resources, facts.cgroupVersion, facts.v2Controllers, unknown);
  return {
    process: processSettingsFor(spec, facts),
    sysctls: sysctlPlanFor(spec, own),
    cgroup: { ...(at !== undefined ? { at } : {}), required: resources.required, writes: resources.writes, warnings: resources.warnings },
    warnings,
  };
}

/** uid, gid and groups: present, real ids (not the kernel's "-1"), and mapped when there is a user namespace. */
function checkUser(spec: OciSpec, userns: boolean): void {
  const user = spec.process?.user as Partial<NonNullable<OciSpec['process']>['user']> | undefined;
  if (!user) throw configFieldError(['process', 'user'], 'is required: the uid and gid the program runs as');
  const mappings = { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] };
  const check = (at: (string | number)[], id: number | undefined, kind: 'uid' | 'gid'): void => {
    if (id === undefined) throw configFieldError(at, 'is required');
    if (id >= UNCHANGED_ID) throw configFieldError(at, `${id} is the kernel's "-1" (leave unchanged): the program would keep the runtime's root identity; choose a real ${kind}`);
    if (userns && hostIdFor(mappings[kind], id) === null) throw configFieldError(at, `${id} is not mapped by linux.${kind}Mappings: the user namespace has no such ${kind}`);
  };
  check(['process', 'user', 'uid'], user.uid, 'uid');
  check(['process', 'user', 'gid'], user.gid, 'gid');
  (user.additionalGids ?? []).forEach((gid, index) => check(['process', 'user', 'additionalGids', index], gid, 'gid'));
}

function isHostDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
