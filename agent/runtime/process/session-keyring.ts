/*
 * A session keyring of the container's own.
 *
 * The kernel keeps secrets for processes in keyrings: Kerberos tickets, NFS and CIFS credentials,
 * fscrypt and dm-crypt keys. Each process is subscribed to a *session* keyring, inherited over
 * fork and exec like its uid; `keyctl show @s` names it. Keyrings are not namespaced, so a
 * container started by a runtime that did nothing would share the runtime's session keyring —
 * here the agent's, i.e. host root's — and could read or plant keys in it.
 *
 * runc's answer, and this one: the first step of every container process is
 * keyctl(KEYCTL_JOIN_SESSION_KEYRING, name), which creates a fresh keyring, subscribes the process
 * to it and drops the inherited one. It runs before the seccomp filter goes in, because the
 * default profile refuses keyctl afterwards (../../oci/default-seccomp.ts): from then on the
 * container cannot make or join another keyring at all.
 *
 * The container's first process names its keyring `_ses.<container id>` (runc's convention), so
 * the host can see that it exists: `grep _ses /proc/keys`. It is made while the process is still
 * host root (before the uid switch), so host root can view it even for a user-namespace container,
 * and only its possessors can read or search it. It lives as long as a process is subscribed to it.
 * An exec joins a new anonymous keyring instead: runc's exec joins the container's by name, which
 * needs search permission granted to others with KEYCTL_SETPERM — a step this straight-line child
 * program could not check, and which would change the agent's own keyring if the join had failed.
 */
import { readFileSync } from 'node:fs';
import type { ChildProgram } from '../../kernel/child-program';
import { KEYCTL_JOIN_SESSION_KEYRING } from '../../kernel/constants';

/** The name of a container's session keyring (runc's: "_ses." and the container id). */
export function sessionKeyringName(containerId: string): string {
  return `_ses.${containerId}`;
}

/** The step: join (create) the keyring `name`, or a new anonymous one for null. */
export function appendSessionKeyring(program: ChildProgram, name: string | null): void {
  program.syscall('keyctl', KEYCTL_JOIN_SESSION_KEYRING, name);
}

/**
 * Whether the container's keyring exists — the kernel's word that its first process joined it, as
 * nothing but a subscribed process holds it. /proc/keys lists the keys the reader may view:
 * "serial flags usage expiry perm uid gid type description: summary".
 */
export function hasSessionKeyring(containerId: string, procKeys?: string): boolean {
  let text = procKeys;
  try {
    text ??= readFileSync('/proc/keys', 'utf8');
  } catch {
    return false; // a kernel without CONFIG_KEYS has no keyrings to share either
  }
  const description = sessionKeyringName(containerId);
  return text.split('\n').some((line) => /\skeyring\s/.test(line) && line.includes(` ${description}:`));
}
