/*
 * securityContext, pod level merged under container level (the container's field wins), as run
 * options the runtime already knows (user, capabilities, no_new_privs, seccomp, read-only root,
 * privileged) plus what only the config.json has a field for: supplementary groups (fsGroup and
 * supplementalGroups land in process.user.additionalGids) and the pod's sysctls.
 */
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { badInput } from '../../errors';
import type { OciSeccomp, RunOptions } from '../../protocol';
import type { Container, Pod } from '../manifest/types';

/** Where Localhost seccomp profiles are read from: the kubelet's own directory. */
export const SECCOMP_ROOT = '/var/lib/kubelet/seccomp';

export interface SecurityPlan {
  options: Pick<RunOptions, 'user' | 'capAdd' | 'capDrop' | 'noNewPrivileges' | 'seccomp' | 'readOnlyRoot' | 'privileged'>;
  additionalGids: number[];
  sysctls: Record<string, string>;
  runAsNonRoot: boolean;
}

export function securityPlan(pod: Pod, container: Container, where: string, seccompRoot = SECCOMP_ROOT): SecurityPlan {
  const podContext = pod.spec?.securityContext ?? {};
  const own = container.securityContext ?? {};
  const options: SecurityPlan['options'] = {};
  const uid = own.runAsUser ?? podContext.runAsUser;
  const gid = own.runAsGroup ?? podContext.runAsGroup;
  if (uid !== undefined || gid !== undefined) options.user = `${uid ?? 0}:${gid ?? 0}`;
  if (own.capabilities?.add?.length) options.capAdd = [...own.capabilities.add];
  if (own.capabilities?.drop?.length) options.capDrop = [...own.capabilities.drop];
  if (own.allowPrivilegeEscalation === false) options.noNewPrivileges = true;
  if (own.readOnlyRootFilesystem) options.readOnlyRoot = true;
  if (own.privileged) options.privileged = true;
  const profile = own.seccompProfile ?? podContext.seccompProfile;
  if (profile?.type === 'Unconfined') options.seccomp = 'unconfined';
  else if (profile?.type === 'Localhost') {
    const relative = profile.localhostProfile ?? '';
    const path = normalize(join(seccompRoot, relative));
    if (relative === '' || !path.startsWith(`${seccompRoot}/`)) throw badInput(`${where}.seccompProfile.localhostProfile: give a file below ${seccompRoot}`);
    try {
      options.seccomp = JSON.parse(readFileSync(path, 'utf8')) as OciSeccomp;
    } catch (error) {
      throw badInput(`${where}.seccompProfile.localhostProfile: cannot read ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const additionalGids = [...new Set([...(podContext.supplementalGroups ?? []), ...(podContext.fsGroup !== undefined ? [podContext.fsGroup] : [])])];
  const sysctls = Object.fromEntries((podContext.sysctls ?? []).map((entry) => [entry.name, entry.value]));
  return { options, additionalGids, sysctls, runAsNonRoot: (own.runAsNonRoot ?? podContext.runAsNonRoot) === true };
}
