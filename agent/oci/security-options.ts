/*
 * The securityContext half of `run`: which user the process runs as, its capabilities,
 * no_new_privs, a seccomp profile and a read-only root — each turned into the config.json field
 * a Kubernetes securityContext maps to:
 *
 *   runAsUser / runAsGroup        →  process.user.uid / gid
 *   capabilities.add / drop       →  process.capabilities (all five sets)
 *   allowPrivilegeEscalation: false → process.noNewPrivileges
 *   seccompProfile                →  linux.seccomp
 *   readOnlyRootFilesystem        →  root.readonly
 *
 * Kubernetes' seccompProfile has three types, and so does `run --seccomp`: RuntimeDefault (no
 * option: the runtime's default profile, ./default-seccomp.ts, as Docker gives every container),
 * Localhost (`--seccomp FILE`: yours instead) and Unconfined (`--seccomp unconfined`: no filter).
 *
 * And the opt-outs, each of which turns one protection off so a learner can see what it held back:
 *
 *   --device-cgroup-rule RULE     a device rule after the defaults (./device-cgroup-rule.ts)
 *   --no-new-keyring              the caller's session keyring instead of one of the container's own
 *   --privileged                  Docker's: every capability the agent holds, no seccomp filter, every
 *                                 device, nothing of /proc masked, /sys writable (privileged: true)
 *
 * An option that would change nothing next to --privileged (--cap-add, --seccomp FILE, a device
 * rule) is refused rather than ignored, as Docker would silently do.
 */
import { badInput, quote } from '../errors';
import { debugLog } from '../debug-log';
import type { OciDeviceCgroup, OciProcess, OciSeccomp, RunOptions, SeccompProfileName } from '../protocol';
import { capabilityName, capabilitySet, ociCapabilities, type CapabilityName } from '../runtime/capabilities';
import { heldCapabilities } from '../runtime/held-capabilities';
import { compiledSeccomp } from '../runtime/seccomp';
import { defaultSeccompProfile } from './default-seccomp';
import { parseDeviceCgroupRules } from './device-cgroup-rule';

export { heldCapabilities } from '../runtime/held-capabilities';

const MAX_ID = 2 ** 32 - 2;

/** 1000, "1000" or "1000:1000" → { uid, gid }; without a gid it is 0, as for runAsUser without runAsGroup. */
export function parseUser(user: RunOptions['user']): { uid: number; gid: number } {
  if (user === undefined) return { uid: 0, gid: 0 };
  const text = String(user).trim();
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  const uid = match ? Number(match[1]) : NaN;
  const gid = match?.[2] !== undefined ? Number(match[2]) : 0;
  if (!match || uid > MAX_ID || gid > MAX_ID) throw badInput(`invalid user ${quote(user)}: use a numeric uid or uid:gid, e.g. 1000 or 1000:1000`);
  return { uid, gid };
}

function stringList(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw badInput(`invalid ${option}: give a list of capability names`);
  return value as string[];
}

export interface SecurityFields {
  user: OciProcess['user'];
  capabilities: NonNullable<OciProcess['capabilities']>;
  noNewPrivileges: boolean;
  seccomp: OciSeccomp | undefined;
  /** Which profile `seccomp` is: written to config.json's annotations so views can name it. */
  seccompProfile: SeccompProfileName;
  readOnlyRoot: boolean;
  /** Device rules after the defaults (--device-cgroup-rule); [] when none. */
  extraDeviceRules: OciDeviceCgroup[];
  /** --privileged: the document's device rules are the one "allow a", and nothing of /proc is masked. */
  privileged: boolean;
  /** "own": a new session keyring (`_ses.<id>`); "host": the caller's (--no-new-keyring). */
  sessionKeyring: 'own' | 'host';
}

/** The one device rule of a privileged container: every device, every access. */
export const ALL_DEVICES: Readonly<OciDeviceCgroup> = { allow: true, access: 'rwm' };

export function securityFromRunOptions(options: RunOptions, held: readonly CapabilityName[] = heldCapabilities()): SecurityFields {
  const user = parseUser(options.user);
  const privileged = flag(options.privileged, 'privileged');
  const extraDeviceRules = parseDeviceCgroupRules(options.deviceCgroupRules);
  const sessionKeyring = flag(options.noNewKeyring, 'noNewKeyring') ? 'host' : 'own';
  const capAdd = stringList(options.capAdd, 'capAdd');
  const capDrop = stringList(options.capDrop, 'capDrop');
  if (privileged) {
    // Docker ignores these next to --privileged; here they are refused, so nothing asked is ignored.
    if (capAdd.length || capDrop.length) throw badInput('--privileged gives every capability: leave --cap-add and --cap-drop out');
    if (options.seccomp !== undefined && options.seccomp !== 'unconfined') throw badInput('--privileged runs without a seccomp filter: leave --seccomp out');
    if (extraDeviceRules.length) throw badInput('--privileged already allows every device: leave --device-cgroup-rule out');
  }
  const capabilities = ociCapabilities(privileged ? [...held] : capabilitiesWithin(capAdd, capDrop, held));
  const { seccomp, seccompProfile } = privileged ? { seccomp: undefined, seccompProfile: 'unconfined' as const } : seccompFromRunOptions(options.seccomp, capabilities.bounding ?? []);
  return {
    user,
    capabilities,
    noNewPrivileges: flag(options.noNewPrivileges, 'noNewPrivileges'),
    seccomp,
    seccompProfile,
    readOnlyRoot: flag(options.readOnlyRoot, 'readOnlyRoot'),
    extraDeviceRules,
    privileged,
    sessionKeyring,
  };
}

function flag(value: unknown, option: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw badInput(`invalid ${option} ${quote(value)}: use true or false`);
  return value === true;
}

/**
 * --cap-add/--cap-drop against the default set. "ALL" means every capability the agent holds (its
 * bounding set, ../runtime/held-capabilities.ts: as Docker's --privileged gives the daemon's own
 * set), not every one the kernel knows; a capability named on its own that the agent lacks is
 * refused: the kernel would not grant it.
 */
function capabilitiesWithin(capAdd: string[], capDrop: string[], held: readonly CapabilityName[]): CapabilityName[] {
  const chosen = capabilitySet(capAdd, capDrop);
  const missing = capAdd.filter((entry) => entry.toUpperCase() !== 'ALL').map(capabilityName).find((name) => !held.includes(name));
  // Worded for --cap-add and a Pod's capabilities.add alike.
  if (missing) throw badInput(`${missing.replace(/^CAP_/, '')} cannot be added: ${missing} is not in this runtime's bounding set (the host does not grant it)`);
  return chosen.filter((name) => held.includes(name));
}

function seccompFromRunOptions(option: RunOptions['seccomp'], bounding: readonly string[]): { seccomp: OciSeccomp | undefined; seccompProfile: SeccompProfileName } {
  // The default follows the capabilities: --cap-add SYS_ADMIN brings mount, unshare, setns back.
  if (option === undefined) return { seccomp: defaultSeccompProfile(bounding), seccompProfile: 'default' };
  if (option === 'unconfined') return { seccomp: undefined, seccompProfile: 'unconfined' };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw badInput('invalid seccomp: give an OCI seccomp profile (an object with defaultAction and syscalls) or "unconfined"');
  }
  // Refuses a profile the kernel would not take, before anything is made (and keeps the filter); a
  // name no architecture has is refused, another architecture's is left out with a debug line.
  compiledSeccomp(option, { skipped: debugLog });
  return { seccomp: option, seccompProfile: 'custom' };
}
