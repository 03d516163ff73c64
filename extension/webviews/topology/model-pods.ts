/*
 * A pod in the topology: one box, because the kernel holds one network namespace for all of its
 * containers — the sandbox's, which each member joined (setns) when it was made. The box says
 * which other namespaces the members share with the sandbox, read from the inodes the agent
 * reports for each (/proc/<pid>/ns/*): always ipc and uts for a pod, pid too with
 * shareProcessNamespace. A container made from Pod YAML is labelled with its Kubernetes name
 * ("app"); the runtime container behind it (<pod>.<container>.<restartCount>) is in its detail.
 */
import type { NamespaceType } from '../../../agent/protocol';
import type { ContainerView } from './model';

/** config.json's annotation naming the Pod YAML container (agent/pods/plan/container-plan.ts POD_ANNOTATIONS.container). */
export const POD_CONTAINER_ANNOTATION = 'lab.containers.pod.container';

const SHAREABLE: readonly NamespaceType[] = ['net', 'ipc', 'uts', 'pid'];

/** "shared by app, side: net, ipc, uts, pid" for a pod's box; null when the holders are no pod. */
export function podSharingText(holders: readonly ContainerView[]): string | null {
  const sandbox = holders.find((holder) => holder.pod?.sandbox);
  const members = holders.filter((holder) => holder.pod && !holder.pod.sandbox);
  if (!sandbox || members.length === 0 || !sandbox.namespaces) return null;
  const shared = SHAREABLE.filter((type) => {
    const inode = sandbox.namespaces?.[type];
    return inode !== undefined && members.every((member) => member.namespaces?.[type] === inode);
  });
  return `${members.map(podMemberLabel).join(', ')} share ${shared.join(', ')}`;
}

/** The name a pod member is drawn with: its Kubernetes container name when it came from Pod YAML. */
export function podMemberLabel(container: ContainerView): string {
  return container.podContainer ?? container.name;
}
