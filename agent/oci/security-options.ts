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
 */
import { badInput, quote } from '../errors';
import type { OciProcess, OciSeccomp, RunOptions } from '../protocol';
import { capabilitySet, ociCapabilities } from '../runtime/capabilities';
import { compileSeccomp } from '../runtime/seccomp';

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
  readOnlyRoot: boolean;
}

export function securityFromRunOptions(options: RunOptions): SecurityFields {
  const user = parseUser(options.user);
  const capabilities = ociCapabilities(capabilitySet(stringList(options.capAdd, 'capAdd'), stringList(options.capDrop, 'capDrop')));
  if (options.seccomp !== undefined) {
    if (typeof options.seccomp !== 'object' || options.seccomp === null) throw badInput('invalid seccomp: give an OCI seccomp profile (an object with defaultAction and syscalls)');
    compileSeccomp(options.seccomp); // refuses a profile the kernel would not take, before anything is made
  }
  return {
    user,
    capabilities,
    noNewPrivileges: options.noNewPrivileges === true,
    seccomp: options.seccomp,
    readOnlyRoot: options.readOnlyRoot === true,
  };
}
