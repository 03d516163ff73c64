/*
 * The Security layer of a container, as rows a learner can read and test: each protection the
 * runtime put between the container's root and the host, what the kernel shows of it now, one
 * sentence on what it protects against, and the one change to `run` that turns it off (or on) —
 * which the page offers as "Try without": a copy of the container with just that changed, so the
 * two can be compared side by side.
 *
 *   capabilities     /proc/<pid>/status CapEff, CapBnd     --cap-add ALL
 *   seccomp          /proc/<pid>/status Seccomp + profile  --seccomp unconfined
 *   device rules     devices.list (v1), eBPF program (v2)  --device-cgroup-rule "a *:* rwm"
 *   session keyring  /proc/keys: _ses.<id>                 --no-new-keyring
 *   no_new_privs     /proc/<pid>/status NoNewPrivs         --no-new-privileges (off by default, as in Docker)
 *   pids limit       the cgroup's pids.max                 --pids N (none by default, as in Docker)
 *
 * While the container runs the values are the kernel's (the record's `security`, read from /proc);
 * once it stops, what its config.json asked for. Pure: the page and the extension both use it.
 */
import { ANNOTATIONS, DEFAULT_CAPABILITIES, type ContainerRecord, type SeccompProfileName } from '../../../agent/protocol';

export const PROTECTIONS = ['capabilities', 'seccomp', 'devices', 'keyring', 'noNewPrivileges', 'pids'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** The process limit a "Try with" copy gets when the container has none. */
export const TRY_PIDS_LIMIT = 64;

export interface SecurityAction {
  /** The button's text: "Try without", "Try with" or "Try without --privileged". */
  label: string;
  /** Appended to the container's name for the copy: web → web-no-seccomp. */
  suffix: string;
  /** What the copy's `run` has that this one's had not, in the command line's words. */
  change: string;
}

export interface SecurityRow {
  protection: Protection;
  label: string;
  /** What the kernel shows now (or the document, when nothing runs), in one line. */
  value: string;
  /** More lines: capability names, device rules. */
  details: string[];
  /** Where the value is read. */
  source: string;
  /** Whether the protection holds for this container. */
  on: boolean;
  /** One sentence: what it protects against. */
  protects: string;
  action: SecurityAction;
}

const PROTECTS: Record<Protection, string> = {
  capabilities: 'Root inside holds only these pieces of root\'s power: without CAP_SYS_ADMIN it cannot mount, without CAP_NET_ADMIN it cannot change the network, without CAP_SYS_MODULE it cannot load kernel modules.',
  seccomp: 'The kernel refuses system calls a container never needs (keyctl, user namespaces, mount, perf_event_open, io_uring, kexec_load…) before their code runs, shrinking what a kernel bug can be reached through.',
  devices: 'A device node is just a number anyone with CAP_MKNOD can make; these rules decide which ones the container may open, so it cannot reach the host\'s disks, /dev/kvm or /dev/mem.',
  keyring: 'Keyrings are not namespaced: without a session keyring of its own the container shares host root\'s, where Kerberos tickets, NFS and disk-encryption keys live.',
  noNewPrivileges: 'With it set, execve can never gain privileges: a setuid-root program or a file with capabilities runs with no more power than its caller.',
  pids: 'A fork bomb stops at this many processes instead of filling the host\'s process table.',
};

const PROFILE_TEXT: Record<SeccompProfileName, string> = {
  default: 'the runtime\'s default profile (Docker-like)',
  custom: 'a custom profile',
  unconfined: 'no profile (unconfined)',
};

const short = (name: string): string => name.replace(/^CAP_/, '');

export function isPrivilegedRecord(record: ContainerRecord): boolean {
  return record.config.annotations?.[ANNOTATIONS.privileged] === 'true';
}

/** The profile the document names (its annotation, else whether it has one at all). */
function documentProfile(record: ContainerRecord): SeccompProfileName {
  const annotated = record.config.annotations?.[ANNOTATIONS.seccomp];
  if (annotated === 'default' || annotated === 'custom' || annotated === 'unconfined') return annotated;
  return record.config.linux?.seccomp ? 'custom' : 'unconfined';
}

/** Whether "deny a" is the last word on all devices: the default is deny, exceptions allow. */
export function devicesDenyByDefault(rules: readonly string[] | null): boolean {
  if (!rules) return false;
  const all = [...rules].reverse().find((rule) => rule === 'allow a' || rule === 'deny a');
  return all === 'deny a';
}

export function securityRows(record: ContainerRecord): SecurityRow[] {
  const security = record.security;
  const pid = record.pid ?? '<pid>';
  const status = `/proc/${pid}/status`;
  const privileged = isPrivilegedRecord(record);
  const withoutPrivileged: SecurityAction = { label: 'Try without --privileged', suffix: 'unprivileged', change: 'without --privileged' };
  const toggle = (on: boolean, without: Omit<SecurityAction, 'label'>, withIt: Omit<SecurityAction, 'label'>): SecurityAction =>
    on ? { label: 'Try without', ...without } : { label: 'Try with', ...withIt };

  // --- capabilities
  const processCaps = record.config.process?.capabilities;
  const effective = security?.capabilities.effective ?? processCaps?.effective ?? [];
  const bounding = security?.capabilities.bounding ?? processCaps?.bounding ?? [];
  const defaults = new Set<string>(DEFAULT_CAPABILITIES);
  const isDefault = effective.length === defaults.size && effective.every((name) => defaults.has(name));
  const capsOn = !privileged && effective.every((name) => defaults.has(name));
  const capabilities: SecurityRow = {
    protection: 'capabilities',
    label: 'Capabilities',
    value: `${effective.length} effective, ${bounding.length} in the bounding set${isDefault ? ' (Docker\'s default 14)' : ''}`,
    details: [`CapEff: ${effective.map(short).join(' ') || '(none)'}`, ...(bounding.join() !== effective.join() ? [`CapBnd: ${bounding.map(short).join(' ') || '(none)'}`] : [])],
    source: `${status} (CapEff, CapBnd)`,
    on: capsOn,
    protects: PROTECTS.capabilities,
    action: privileged ? withoutPrivileged : toggle(capsOn, { suffix: 'all-caps', change: '--cap-add ALL' }, { suffix: 'default-caps', change: 'the default 14 capabilities (no --cap-add, --cap-drop)' }),
  };

  // --- seccomp
  const profile = security?.seccompProfile ?? documentProfile(record);
  const seccompOn = profile !== 'unconfined';
  const mode = security ? `Seccomp: ${security.seccomp === 'filter' ? '2 (filter)' : security.seccomp === 'strict' ? '1 (strict)' : '0 (none)'}` : 'Seccomp: – (not running)';
  const seccomp: SecurityRow = {
    protection: 'seccomp',
    label: 'Seccomp',
    value: `${mode} · ${PROFILE_TEXT[profile]}`,
    details: [],
    source: `${status} (Seccomp) and config.json linux.seccomp`,
    on: seccompOn,
    protects: PROTECTS.seccomp,
    action: privileged ? withoutPrivileged : toggle(seccompOn, { suffix: 'no-seccomp', change: '--seccomp unconfined' }, { suffix: 'seccomp', change: 'the default seccomp profile (no --seccomp)' }),
  };

  // --- device rules
  const devicesRecord = record.cgroup?.devices ?? null;
  const rules = devicesRecord?.rules ?? null;
  const devicesOn = devicesDenyByDefault(rules);
  const mechanisms = (devicesRecord?.mechanisms ?? []).map((mechanism) =>
    mechanism === 'ebpf'
      ? `an eBPF program on cgroup v2${devicesRecord?.programs?.length ? ` (id ${devicesRecord.programs.join(', ')})` : ''}`
      : 'devices.list of cgroup v1');
  const devices: SecurityRow = {
    protection: 'devices',
    label: 'Device rules',
    value: rules ? `${rules.length} rule${rules.length === 1 ? '' : 's'}${mechanisms.length ? `, enforced by ${mechanisms.join(' and ')}` : ''}` : 'no rules: every device can be opened',
    details: rules ?? [],
    source: [record.cgroup?.files.devices, devicesRecord?.mechanisms.includes('ebpf') ? record.cgroup?.directories.unified : undefined].filter(Boolean).join(' · ') || 'config.json linux.resources.devices',
    on: devicesOn,
    protects: PROTECTS.devices,
    action: privileged ? withoutPrivileged : toggle(devicesOn, { suffix: 'all-devices', change: '--device-cgroup-rule "a *:* rwm"' }, { suffix: 'default-devices', change: 'the default device rules' }),
  };

  // --- session keyring
  const own = security ? security.sessionKeyring : record.config.annotations?.[ANNOTATIONS.sessionKeyring] !== 'host';
  const keyring: SecurityRow = {
    protection: 'keyring',
    label: 'Session keyring',
    value: own ? `_ses.${record.id}: its own` : 'the caller\'s (host root\'s): no _ses.<id> of its own',
    details: [],
    source: '/proc/keys',
    on: own,
    protects: PROTECTS.keyring,
    action: toggle(own, { suffix: 'host-keyring', change: '--no-new-keyring' }, { suffix: 'own-keyring', change: 'a session keyring of its own (no --no-new-keyring)' }),
  };

  // --- no_new_privs
  const noNewPrivs = security?.noNewPrivileges ?? record.config.process?.noNewPrivileges === true;
  const nnp: SecurityRow = {
    protection: 'noNewPrivileges',
    label: 'no_new_privs',
    value: noNewPrivs ? 'NoNewPrivs: 1' : 'NoNewPrivs: 0 (not set, as in Docker by default)',
    details: [],
    source: `${status} (NoNewPrivs)`,
    on: noNewPrivs,
    protects: PROTECTS.noNewPrivileges,
    action: toggle(noNewPrivs, { suffix: 'no-nnp', change: 'without --no-new-privileges' }, { suffix: 'nnp', change: '--no-new-privileges' }),
  };

  // --- pids limit
  const limit = record.cgroup?.limits.pids ?? null;
  const current = record.cgroup?.usage?.pidsCurrent;
  const pids: SecurityRow = {
    protection: 'pids',
    label: 'Pids limit',
    value: limit !== null ? `pids.max ${limit}${current !== undefined ? ` (${current} in use)` : ''}` : 'max: no limit (as in Docker by default)',
    details: [],
    source: record.cgroup?.files.pids ?? 'the cgroup\'s pids.max',
    on: limit !== null,
    protects: PROTECTS.pids,
    action: toggle(limit !== null, { suffix: 'no-pids-limit', change: 'without --pids' }, { suffix: 'pids-limit', change: `--pids ${TRY_PIDS_LIMIT}` }),
  };

  return [capabilities, seccomp, devices, keyring, nnp, pids];
}
