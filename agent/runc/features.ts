/*
 * features: the runtime-spec's features document — what this runtime implements on this host
 * (OCI versions, hooks, mount options, namespaces, capabilities, cgroup versions, seccomp), so a
 * caller can ask before it sends a config.json.
 */
import { constants } from 'node:os';
import { parseFlags } from './flags';
import { knownMountOptions } from '../runtime/mount-options';
import { CAPABILITY_NAMES } from '../protocol/capabilities';
import type { Invocation } from './verb';

export async function features(invocation: Invocation): Promise<number> {
  parseFlags(invocation.args, []);
  const document = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.1.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: CAPABILITY_NAMES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'], operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'], archs: [process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64'] },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.opencontainers.runc.version': 'containers-lab', signals: String(Object.keys(constants.signals).length) },
  };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}
