/*
 * A container's environment: the pod's env entries in order, each able to use the ones before it
 * ($(VAR)), and the downward API — fields of the pod itself (its name, namespace, uid, IP, the
 * node) handed to the process as variables, without the process asking anybody.
 */
import type { Container } from '../manifest/types';
import { expandVariables } from './command';

export interface PodFacts {
  name: string;
  namespace: string;
  uid: string;
  nodeName: string;
  podIP: string;
  hostIP: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function fieldValue(fieldPath: string, facts: PodFacts): string {
  switch (fieldPath) {
    case 'metadata.name': return facts.name;
    case 'metadata.namespace': return facts.namespace;
    case 'metadata.uid': return facts.uid;
    case 'spec.nodeName': return facts.nodeName;
    case 'spec.serviceAccountName': return '';
    case 'status.podIP': case 'status.podIPs': return facts.podIP;
    case 'status.hostIP': return facts.hostIP;
  }
  const label = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (label) return (label[1] === 'labels' ? facts.labels : facts.annotations)[label[2]!] ?? '';
  return '';
}

/** The variables in order (a later entry of the same name wins, as in Kubernetes). */
export function containerEnvironment(container: Container, facts: PodFacts): Map<string, string> {
  const env = new Map<string, string>();
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const value = fieldPath !== undefined ? fieldValue(fieldPath, facts) : expandVariables(variable.value ?? '', env);
    env.set(variable.name, value);
  }
  return env;
}
