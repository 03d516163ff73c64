/*
 * Reading Pod YAML the way the API server admits a Pod: its shape against the API's field list
 * (./schema-check.ts), then the checks of Kubernetes' pod validation that make sense on one node
 * (names, images, volumes and their mounts, ports, probes, requests ≤ limits), then the fields
 * that need a cluster (./cluster-only.ts). Problems come back as kubectl words them — a field path
 * and "Required value", "Invalid value", "Not found", "Duplicate value" — with the YAML line.
 */
import { badInput } from '../../errors';
import { parseCpuQuantity, parseMemoryQuantity } from '../../protocol/quantity';
import { clusterOnlyFields } from './cluster-only';
import { formatPath, parsePodDocument, type FieldPath, type ManifestProblem, type PodDocument } from './document';
import { schemaProblems } from './schema-check';
import type { Container, Pod, Probe } from './types';

export interface PodManifest {
  pod: Pod;
  name: string;
  namespace: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** The pod's runtime names are `<pod>.<container>.<restart>` and `<pod>-pause`: 63 characters in all. */
export const MAX_POD_NAME = 40;
export const MAX_CONTAINER_NAME = 16;
export const FIELD_REFS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.podIP', 'status.hostIP', 'status.podIPs'];

/** Every problem in a manifest (none: it can run here). For editors: each has its line. */
export function podManifestProblems(text: string, file = 'pod.yaml'): ManifestProblem[] {
  let document: PodDocument;
  try {
    document = parsePodDocument(text, file);
  } catch (error) {
    const message = (error as Error).message;
    const line = Number(/^[^:]*:(\d+):/.exec(message)?.[1] ?? 0);
    return [{ path: '', line, message: message.replace(/^[^:]*:\d+: /, '') }];
  }
  return problemsOf(document);
}

function problemsOf(document: PodDocument): ManifestProblem[] {
  if (typeof document.value !== 'object' || document.value === null || Array.isArray(document.value)) {
    return [{ path: '', line: 1, message: 'Invalid value: expected a Pod object (apiVersion: v1, kind: Pod)' }];
  }
  const shape = schemaProblems(document);
  if (shape.length > 0) return shape;
  const problems: ManifestProblem[] = [];
  const report = (path: FieldPath, message: string): void => void problems.push({ path: formatPath(path), line: document.lineOf(path), message });
  checkPod(document.value as Pod, report);
  for (const field of clusterOnlyFields(document.value as Record<string, unknown>)) report(field.path, `Forbidden: ${field.message}`);
  return problems;
}

/** The Pod of a manifest, or a one-line error naming (up to three of) its problems with their lines. */
export function readPodManifest(text: string, file = 'pod.yaml'): PodManifest {
  const document = parsePodDocument(text, file);
  const problems = problemsOf(document);
  const pod = document.value as Pod;
  if (problems.length > 0) {
    const name = typeof pod?.metadata?.name === 'string' ? pod.metadata.name : '';
    const shown = problems.slice(0, 3).map((problem) => `${file}:${problem.line}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`);
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    throw badInput(`The Pod ${JSON.stringify(name)} is invalid: ${shown.join('; ')}${more}`);
  }
  return { pod, name: pod.metadata!.name!, namespace: pod.metadata?.namespace ?? 'default' };
}

type Report = (path: FieldPath, message: string) => void;

function checkPod(pod: Pod, report: Report): void {
  const name = pod.metadata?.name;
  if (name === undefined) report(['metadata', 'name'], 'Required value: name or generateName is required (generateName needs the API server: give a name)');
  else if (!DNS_SUBDOMAIN.test(name) || name.length > 253) report(['metadata', 'name'], `Invalid value: ${JSON.stringify(name.slice(0, 40))}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  else if (name.length > MAX_POD_NAME) report(['metadata', 'name'], `Invalid value: ${JSON.stringify(name.slice(0, 40))}: this node names a pod's containers after it: at most ${MAX_POD_NAME} characters`);
  const namespace = pod.metadata?.namespace;
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) report(['metadata', 'namespace'], `Invalid value: ${JSON.stringify(namespace.slice(0, 40))}: a lowercase RFC 1123 label`);
  const spec = pod.spec;
  if (!spec) return report(['spec'], 'Required value');
  if (!spec.containers || spec.containers.length === 0) report(['spec', 'containers'], 'Required value');

  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((volume, index) => {
    const at: FieldPath = ['spec', 'volumes', index];
    if (!DNS_LABEL.test(volume.name)) report([...at, 'name'], `Invalid value: ${JSON.stringify(volume.name.slice(0, 40))}: a lowercase RFC 1123 label`);
    if (volumes.has(volume.name)) report([...at, 'name'], `Duplicate value: ${JSON.stringify(volume.name)}`);
    volumes.add(volume.name);
    const sources = Object.keys(volume).filter((key) => key !== 'name');
    if (sources.length === 0) report(at, 'Required value: must specify a volume type');
    if (sources.length > 1) report([...at, sources[1]!], 'Forbidden: may not specify more than 1 volume type');
    if (volume.hostPath && !volume.hostPath.path?.startsWith('/')) report([...at, 'hostPath', 'path'], 'Invalid value: must be an absolute path');
    if (volume.emptyDir?.sizeLimit !== undefined) quantityOk(() => parseMemoryQuantity(volume.emptyDir!.sizeLimit!), [...at, 'emptyDir', 'sizeLimit'], report);
  });

  const names = new Set<string>();
  const groups = [['initContainers', spec.initContainers ?? []], ['containers', spec.containers ?? []]] as const;
  for (const [group, containers] of groups) {
    containers.forEach((container, index) => {
      const at: FieldPath = ['spec', group, index];
      if (!DNS_LABEL.test(container.name)) report([...at, 'name'], `Invalid value: ${JSON.stringify(container.name.slice(0, 40))}: a lowercase RFC 1123 label`);
      else if (container.name.length > MAX_CONTAINER_NAME) report([...at, 'name'], `Invalid value: ${JSON.stringify(container.name)}: this node names containers <pod>.<name>.<restart>: at most ${MAX_CONTAINER_NAME} characters`);
      if (names.has(container.name)) report([...at, 'name'], `Duplicate value: ${JSON.stringify(container.name)}`);
      names.add(container.name);
      checkContainer(container, at, group === 'initContainers', volumes, report);
    });
  }
  if (spec.hostname !== undefined && !DNS_LABEL.test(spec.hostname)) report(['spec', 'hostname'], 'Invalid value: a lowercase RFC 1123 label');
  if (spec.subdomain !== undefined && !DNS_LABEL.test(spec.subdomain)) report(['spec', 'subdomain'], 'Invalid value: a lowercase RFC 1123 label');
  if (spec.dnsPolicy === 'None' && !spec.dnsConfig) report(['spec', 'dnsConfig'], 'Required value: must provide `dnsConfig` when `dnsPolicy` is None');
  if (spec.shareProcessNamespace && spec.hostPID) report(['spec', 'shareProcessNamespace'], 'Invalid value: ShareProcessNamespace and HostPID cannot both be enabled');
  if (spec.terminationGracePeriodSeconds !== undefined && (spec.terminationGracePeriodSeconds < 0 || !Number.isInteger(spec.terminationGracePeriodSeconds))) {
    report(['spec', 'terminationGracePeriodSeconds'], 'Invalid value: must be a whole number ≥ 0');
  }
  if (spec.hostUsers === false) report(['spec', 'hostUsers'], 'Forbidden: user namespaces for pods are not offered by this node');
}

function checkContainer(container: Container, at: FieldPath, init: boolean, volumes: Set<string>, report: Report): void {
  if (!container.image) report([...at, 'image'], 'Required value');
  (container.volumeMounts ?? []).forEach((mount, index) => {
    if (!volumes.has(mount.name)) report([...at, 'volumeMounts', index, 'name'], `Not found: ${JSON.stringify(mount.name)}`);
    if (!mount.mountPath?.startsWith('/')) report([...at, 'volumeMounts', index, 'mountPath'], 'Invalid value: must be an absolute path');
    if (mount.subPath !== undefined || mount.subPathExpr !== undefined) report([...at, 'volumeMounts', index, 'subPath'], 'Forbidden: subPath is not offered by this node');
  });
  (container.ports ?? []).forEach((port, index) => {
    if (!Number.isInteger(port.containerPort) || port.containerPort < 1 || port.containerPort > 65535) report([...at, 'ports', index, 'containerPort'], `Invalid value: ${port.containerPort}: must be between 1 and 65535, inclusive`);
    if (port.hostPort !== undefined) report([...at, 'ports', index, 'hostPort'], 'Forbidden: hostPort is set up by a CNI plugin: publish the port with containers-lab run -p instead');
  });
  (container.env ?? []).forEach((variable, index) => {
    if (!ENV_NAME.test(variable.name)) report([...at, 'env', index, 'name'], `Invalid value: ${JSON.stringify(variable.name.slice(0, 40))}: a valid environment variable name`);
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (field !== undefined && !FIELD_REFS.includes(field) && !/^metadata\.(labels|annotations)\['[^']+'\]$/.test(field)) {
      report([...at, 'env', index, 'valueFrom', 'fieldRef', 'fieldPath'], `Unsupported value: ${JSON.stringify(field.slice(0, 40))}: supported values: ${FIELD_REFS.map((f) => JSON.stringify(f)).join(', ')}`);
    }
    if (variable.valueFrom?.resourceFieldRef) report([...at, 'env', index, 'valueFrom', 'resourceFieldRef'], 'Forbidden: resourceFieldRef is not offered by this node');
  });
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  for (const [resource, map] of [...Object.entries(requests).map(([r]) => [r, 'requests'] as const), ...Object.entries(limits).map(([r]) => [r, 'limits'] as const)]) {
    if (resource !== 'cpu' && resource !== 'memory') report([...at, 'resources', map, resource], `Unsupported value: ${JSON.stringify(resource.slice(0, 40))}: this node manages "cpu" and "memory"`);
  }
  const cpu = (value: string | number | undefined): number | null => (value === undefined ? null : quantityOk(() => parseCpuQuantity(value, 'cpu'), [...at, 'resources'], report));
  const memory = (value: string | number | undefined): number | null => (value === undefined ? null : quantityOk(() => parseMemoryQuantity(value, 'memory'), [...at, 'resources'], report));
  const [cpuRequest, cpuLimit, memRequest, memLimit] = [cpu(requests.cpu), cpu(limits.cpu), memory(requests.memory), memory(limits.memory)];
  if (cpuRequest !== null && cpuLimit !== null && cpuRequest > cpuLimit) report([...at, 'resources', 'requests'], `Invalid value: "${requests.cpu}": must be less than or equal to cpu limit of ${limits.cpu}`);
  if (memRequest !== null && memLimit !== null && memRequest > memLimit) report([...at, 'resources', 'requests'], `Invalid value: "${requests.memory}": must be less than or equal to memory limit of ${limits.memory}`);
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = container[kind];
    if (!probe) continue;
    if (init && container.restartPolicy !== 'Always') {
      report([...at, kind], 'Forbidden: may not be set for init containers without restartPolicy=Always');
      continue;
    }
    checkProbe(probe, [...at, kind], kind !== 'readinessProbe', report);
  }
  if (container.restartPolicy !== undefined) report([...at, 'restartPolicy'], 'Forbidden: sidecar containers (restartPolicy on a container) are not offered by this node');
  if (container.stdin || container.tty) report([...at, container.tty ? 'tty' : 'stdin'], 'Forbidden: attach is not offered by this node: use containers-lab exec -it');
  for (const hook of ['postStart', 'preStop'] as const) {
    const handler = container.lifecycle?.[hook];
    if (handler && [handler.exec, handler.httpGet, handler.tcpSocket, handler.sleep].filter(Boolean).length !== 1) {
      report([...at, 'lifecycle', hook], 'Required value: must specify a handler type');
    }
    if (handler?.tcpSocket) report([...at, 'lifecycle', hook, 'tcpSocket'], 'Forbidden: tcpSocket is deprecated as a lifecycle handler and not offered');
  }
}

function checkProbe(probe: Probe, at: FieldPath, onlyOneSuccess: boolean, report: Report): void {
  const handlers = [probe.exec, probe.httpGet, probe.tcpSocket, probe.grpc].filter((handler) => handler !== undefined);
  if (handlers.length === 0) report(at, 'Required value: must specify a handler type');
  if (handlers.length > 1) report(at, 'Forbidden: may not specify more than 1 handler type');
  if (probe.grpc) report([...at, 'grpc'], 'Forbidden: grpc probes are not offered by this node: use exec, httpGet or tcpSocket');
  if (probe.exec && (!probe.exec.command || probe.exec.command.length === 0)) report([...at, 'exec', 'command'], 'Required value');
  for (const field of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const value = probe[field];
    const min = field === 'initialDelaySeconds' ? 0 : 1;
    if (value !== undefined && (!Number.isInteger(value) || value < min)) report([...at, field], `Invalid value: ${value}: must be greater than or equal to ${min}`);
  }
  if (onlyOneSuccess && probe.successThreshold !== undefined && probe.successThreshold !== 1) report([...at, 'successThreshold'], 'Invalid value: must be 1');
}

function quantityOk(parse: () => number, at: FieldPath, report: Report): number | null {
  try {
    return parse();
  } catch (error) {
    report(at, `Invalid value: ${(error as Error).message}`);
    return null;
  }
}
