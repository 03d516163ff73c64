/*
 * The files the kubelet writes for a pod and bind-mounts into each of its containers:
 *
 *   /etc/hosts        "Kubernetes-managed hosts file": localhost, the pod's IP with its
 *                     hostname (and <hostname>.<subdomain>.<namespace>.svc.cluster.local with a
 *                     subdomain), then hostAliases. A hostNetwork pod gets the host's own lines.
 *   /etc/resolv.conf  per dnsPolicy. ClusterFirst needs cluster DNS (a kube-dns Service), which a
 *                     node without a cluster does not have: the kubelet then falls back to Default
 *                     and says so in an event — here too. Default: the host's resolv.conf.
 *                     None: only dnsConfig. dnsConfig's nameservers, searches and options are
 *                     merged onto what the policy gave.
 *   /etc/hostname     the pod's hostname.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { OciMount } from '../../protocol';
import type { Pod } from '../manifest/types';

export const CLUSTER_DOMAIN = 'cluster.local';

export function podHostname(pod: Pod): string {
  if (pod.spec?.hostNetwork) return hostHostname();
  return pod.spec?.hostname ?? pod.metadata!.name!;
}

export function hostsFile(pod: Pod, podIP: string | null): string {
  const lines = ['# Kubernetes-managed hosts file.'];
  if (pod.spec?.hostNetwork) {
    lines.push(readFileSync('/etc/hosts', 'utf8').trimEnd());
  } else {
    lines.push('127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'fe00::0\tip6-mcastprefix',
      'fe00::1\tip6-allnodes', 'fe00::2\tip6-allrouters');
    const name = podHostname(pod);
    if (podIP) {
      const subdomain = pod.spec?.subdomain;
      const namespace = pod.metadata?.namespace ?? 'default';
      lines.push(subdomain ? `${podIP}\t${name}.${subdomain}.${namespace}.svc.${CLUSTER_DOMAIN}\t${name}` : `${podIP}\t${name}`);
    }
  }
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const alias of aliases) lines.push(`${alias.ip}\t${(alias.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

export interface ResolvConf {
  text: string;
  /** Set when the policy could not be honoured as written (an event says it). */
  warning: string | null;
}

export function resolvConf(pod: Pod, hostResolv = readHostResolv()): ResolvConf {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  let warning: string | null = null;
  if (policy !== 'None') {
    for (const line of hostResolv.split('\n')) {
      const [word, ...rest] = line.trim().split(/\s+/);
      if (word === 'nameserver' && rest[0]) nameservers.push(rest[0]);
      else if (word === 'search' || word === 'domain') searches = rest;
      else if (word === 'options') options.push(...rest);
    }
    if (policy === 'ClusterFirst' || (policy === 'ClusterFirstWithHostNet' && pod.spec?.hostNetwork)) {
      warning = `dnsPolicy ${policy}: this node has no cluster DNS (no kube-dns Service without a cluster): falling back to "Default" (the host's resolv.conf)`;
    }
  }
  const config = pod.spec?.dnsConfig;
  nameservers = [...new Set([...nameservers, ...(config?.nameservers ?? [])])].slice(0, 3);
  searches = [...new Set([...searches, ...(config?.searches ?? [])])].slice(0, 32);
  for (const option of config?.options ?? []) {
    const name = option.name ?? '';
    options = [...options.filter((o) => o.split(':')[0] !== name), option.value !== undefined ? `${name}:${option.value}` : name];
  }
  const lines = [
    ...(searches.length ? [`search ${searches.join(' ')}`] : []),
    ...nameservers.map((server) => `nameserver ${server}`),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
  ];
  return { text: lines.join('\n') + '\n', warning };
}

function readHostResolv(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** Writes the three files into the pod's directory; returns the mounts every container gets. */
export function writeNetworkFiles(directory: string, pod: Pod, podIP: string | null): { mounts: OciMount[]; warning: string | null } {
  const etc = join(directory, 'etc');
  mkdirSync(etc, { recursive: true });
  const resolv = resolvConf(pod);
  writeFileSync(join(etc, 'hosts'), hostsFile(pod, podIP));
  writeFileSync(join(etc, 'resolv.conf'), resolv.text);
  writeFileSync(join(etc, 'hostname'), `${podHostname(pod)}\n`);
  const mounts = ['hosts', 'resolv.conf', 'hostname'].map((file): OciMount => ({
    destination: `/etc/${file}`, type: 'bind', source: join(etc, file), options: ['rbind', 'nosuid', 'nodev', 'noexec'],
  }));
  return { mounts, warning: resolv.warning };
}
