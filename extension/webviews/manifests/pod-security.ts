/*
 * The security half of config.json ↔ Pod YAML: what the container's root may do, in both languages,
 * and the kernel object each choice became.
 *
 *   Pod securityContext                config.json                          the kernel
 *   runAsUser / runAsGroup          ↔  process.user                      →  Uid, Gid in /proc/<pid>/status
 *   allowPrivilegeEscalation: false ↔  process.noNewPrivileges           →  NoNewPrivs: 1
 *   capabilities add / drop         ↔  process.capabilities              →  CapBnd, CapEff
 *   seccompProfile                  ↔  linux.seccomp (+ its annotation)  →  Seccomp: 2, a BPF filter
 *   privileged: true                ↔  all of the above opened, and      →  Seccomp: 0, every capability,
 *                                      linux.resources.devices "allow a"    devices.list "a *:* rwm"
 *   (no field: every Pod)           ↔  linux.resources.devices           →  devices.list / an eBPF program
 *   (no field: every container)     ↔  annotation session-keyring        →  _ses.<id> in /proc/keys
 *
 * Kubernetes has no field for device rules or the keyring: the runtime (containerd, CRI-O) applies
 * its defaults to every container; only `privileged: true` opens the devices. Pure: no 'vscode', no DOM.
 */
import { ANNOTATIONS, type ContainerRecord, type OciSpec } from '../../../agent/protocol';
import { devicesObject, keyringObject, processObject, type KernelObject } from './kernel-objects';
import { capabilitiesToPod, type PodCapabilities } from './pod-capabilities';

export interface PodSecurityContext {
  runAsUser: number;
  runAsGroup: number;
  readOnlyRootFilesystem: boolean;
  allowPrivilegeEscalation?: false;
  privileged?: true;
  capabilities?: PodCapabilities;
  seccompProfile?: { type: 'Localhost'; localhostProfile: string } | { type: 'RuntimeDefault' | 'Unconfined' };
}

/** A field link without its kernel value, and how to read that value from a record. */
export type AddLink = (
  entry: { id: string; label: string; jsonPaths: string[]; podPaths: string[]; note: string },
  kernel: (record: ContainerRecord) => KernelObject | null,
) => void;

export function isPrivileged(config: OciSpec): boolean {
  return config.annotations?.[ANNOTATIONS.privileged] === 'true';
}

/** The securityContext that asks for what config.json says. */
export function podSecurityContext(config: OciSpec, name: string): PodSecurityContext {
  const process = config.process;
  const annotations = config.annotations ?? {};
  const context: PodSecurityContext = {
    runAsUser: process?.user.uid ?? 0,
    runAsGroup: process?.user.gid ?? 0,
    readOnlyRootFilesystem: config.root?.readonly === true,
    ...(process?.noNewPrivileges ? { allowPrivilegeEscalation: false as const } : {}),
  };
  // privileged: true already means every capability and no seccomp filter (containerd's CRI drops the
  // profile of a privileged container): the Pod says it in one field.
  if (isPrivileged(config)) return { ...context, privileged: true };
  const capabilities = capabilitiesToPod(process?.capabilities);
  if (capabilities) context.capabilities = capabilities;
  // The runtime's own profile is Kubernetes' RuntimeDefault; none is Unconfined; a user's is a file on the node.
  const profile = annotations[ANNOTATIONS.seccomp];
  if (profile === 'default') context.seccompProfile = { type: 'RuntimeDefault' };
  else if (profile === 'unconfined') context.seccompProfile = { type: 'Unconfined' };
  else if (config.linux?.seccomp) context.seccompProfile = { type: 'Localhost', localhostProfile: `${name}-seccomp.json` };
  return context;
}

/** The links of the securityContext fields, and of the protections Kubernetes leaves to the runtime. */
export function securityLinks(config: OciSpec, context: PodSecurityContext, at: string, add: AddLink): void {
  const process = config.process;
  const privileged = context.privileged === true;
  const seccompAnnotation = `annotations["${ANNOTATIONS.seccomp}"]`;
  add({ id: 'user', label: 'user', jsonPaths: ['process.user'], podPaths: [`${at}.runAsUser`, `${at}.runAsGroup`, at],
    note: 'runAsUser/runAsGroup ↔ process.user: setuid()/setgid() before execve(); /proc/<pid>/status shows Uid and Gid.' }, (r) => processObject(r, 'status', 'user'));
  if (process?.noNewPrivileges) {
    add({ id: 'no-new-privileges', label: 'no new privileges', jsonPaths: ['process.noNewPrivileges'], podPaths: [`${at}.allowPrivilegeEscalation`],
      note: 'allowPrivilegeEscalation: false ↔ noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS): execve can never gain privileges (setuid bits, file capabilities).' }, (r) => processObject(r, 'status', 'noNewPrivileges'));
  }
  if (privileged) {
    add({ id: 'privileged', label: 'privileged', jsonPaths: [`annotations["${ANNOTATIONS.privileged}"]`], podPaths: [`${at}.privileged`],
      note: 'privileged: true ↔ every capability the runtime holds, no seccomp filter, the device rule "allow a", nothing of /proc masked: root inside is nearly root outside.' }, (r) => processObject(r, 'status', 'privileged'));
  }
  if (process?.capabilities) {
    add({ id: 'capabilities', label: 'capabilities', jsonPaths: ['process.capabilities'], podPaths: privileged ? [`${at}.privileged`] : context.capabilities ? [`${at}.capabilities`] : [],
      note: privileged
        ? 'privileged: true ↔ every capability in every set: prctl(PR_CAPBSET_DROP) drops nothing.'
        : context.capabilities
          ? 'capabilities.add/drop ↔ process.capabilities: the default 14 plus what is added, minus what is dropped; prctl(PR_CAPBSET_DROP) and capset() before execve.'
          : 'No Pod field needed: these are the runtime\'s default 14 capabilities (CapBnd in /proc/<pid>/status).' }, (r) => processObject(r, 'status', 'capabilities'));
  }
  const seccompPaths = [...(config.linux?.seccomp ? ['linux.seccomp'] : []), ...(config.annotations?.[ANNOTATIONS.seccomp] !== undefined ? [seccompAnnotation] : [])];
  if (seccompPaths.length > 0) add({ id: 'seccomp', label: 'seccomp profile', jsonPaths: seccompPaths,
    podPaths: privileged ? [`${at}.privileged`] : context.seccompProfile ? [`${at}.seccompProfile`] : [],
    note: privileged
      ? 'privileged: true ↔ no linux.seccomp: no filter (Seccomp: 0 in /proc/<pid>/status); the annotation says "unconfined".'
      : 'seccompProfile ↔ linux.seccomp, named by the annotation: RuntimeDefault is the agent\'s own Docker-like profile, Localhost a file of yours, Unconfined none; the runtime compiles a profile to a BPF filter the kernel runs on every system call (Seccomp: 2 in /proc/<pid>/status).' },
  (r) => processObject(r, 'status', 'seccomp'));
  if (config.linux?.resources?.devices) {
    const extra = config.annotations?.[ANNOTATIONS.deviceCgroupRules] !== undefined ? [`annotations["${ANNOTATIONS.deviceCgroupRules}"]`] : [];
    add({ id: 'devices', label: 'device rules', jsonPaths: ['linux.resources.devices', ...extra], podPaths: privileged ? [`${at}.privileged`] : [],
      note: privileged
        ? 'privileged: true ↔ one rule, "allow a": every device node may be made and opened.'
        : 'No Pod field: the runtime gives every container these rules (deny all, then null, zero, ttys…). cgroup v1 keeps them in devices.list; cgroup v2 runs them as an eBPF program on each mknod and open.' },
    (r) => devicesObject(r));
  }
  if (config.annotations?.[ANNOTATIONS.sessionKeyring] === undefined) return; // a document of the user's that says nothing
  add({ id: 'session-keyring', label: 'session keyring', jsonPaths: [`annotations["${ANNOTATIONS.sessionKeyring}"]`], podPaths: [],
    note: 'No Pod field: the runtime gives every container a session keyring of its own (keyctl JOIN_SESSION_KEYRING, runc\'s _ses.<id>); "host" keeps the caller\'s, as runc --no-new-keyring does. Keyrings are not namespaced.' },
  (r) => keyringObject(r));
}
