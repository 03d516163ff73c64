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
 */
import { badInput, quote } from '../errors';
import type { OciProcess, OciSeccomp, RunOptions, SeccompProfileName } from '../protocol';
import { capabilitySet, ociCapabilities } from '../runtime/capabilities';
import { compiledSeccomp } from '../runtime/seccomp';
import { defaultSeccompProfile } from './default-seccomp';

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
}

export function securityFromRunOptions(options: RunOptions): SecurityFields {
  const user = parseUser(options.user);
  const capabilities = ociCapabilities(capabilitySet(stringList(options.capAdd, 'capAdd'), stringList(options.capDrop, 'capDrop')));
  const { seccomp, seccompProfile } = seccompFromRunOptions(options.seccomp, capabilities.bounding ?? []);
  return {
    user,
    capabilities,
    noNewPrivileges: options.noNewPrivileges === true,
    seccomp,
    seccompProfile,
    readOnlyRoot: options.readOnlyRoot === true,
  };
}

function seccompFromRunOptions(option: RunOptions['seccomp'], bounding: readonly string[]): { seccomp: OciSeccomp | undefined; seccompProfile: SeccompProfileName } {
  // The default follows the capabilities: --cap-add SYS_ADMIN brings mount, unshare, setns back.
  if (option === undefined) return { seccomp: defaultSeccompProfile(bounding), seccompProfile: 'default' };
  if (option === 'unconfined') return { seccomp: undefined, seccompProfile: 'unconfined' };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw badInput('invalid seccomp: give an OCI seccomp profile (an object with defaultAction and syscalls) or "unconfined"');
  }
  compiledSeccomp(option); // refuses a profile the kernel would not take, before anything is made (and keeps the filter)
  return { seccomp: option, seccompProfile: 'custom' };
}
