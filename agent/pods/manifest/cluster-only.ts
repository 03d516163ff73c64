/*
 * Fields that need a cluster. This agent is one node's kubelet without an API server, a
 * scheduler or controllers: whatever only those can provide (ConfigMaps, Secrets, volume claims,
 * service account tokens, placement among nodes) is refused in one line that says why, rather than
 * silently ignored — a learner should never believe a field worked when nothing read it.
 */
import type { FieldPath } from './document';

const API_SERVER = 'lives in the API server, and this node has none';
const SCHEDULER = 'is read by the scheduler, and one node without a cluster has none';

/** Pod spec fields: the reason each needs a cluster. */
const SPEC_FIELDS: Record<string, string> = {
  nodeSelector: `chooses among nodes: it ${SCHEDULER}`,
  affinity: `chooses among nodes and pods: it ${SCHEDULER}`,
  tolerations: `admits a pod to tainted nodes: it ${SCHEDULER}`,
  topologySpreadConstraints: `spreads pods over zones and nodes: it ${SCHEDULER}`,
  schedulerName: `names a scheduler, and this node has none`,
  schedulingGates: `holds a pod back from the scheduler, and this node has none`,
  schedulingGroup: `groups pods for the scheduler, and this node has none`,
  priorityClassName: `names a PriorityClass, which ${API_SERVER}`,
  runtimeClassName: `names a RuntimeClass, which ${API_SERVER}`,
  serviceAccountName: `needs a ServiceAccount and its token, which the API server issues (this node has none)`,
  serviceAccount: `needs a ServiceAccount and its token, which the API server issues (this node has none)`,
  imagePullSecrets: `names Secrets, which ${'live in the API server, and this node has none'}; log in with ~/.docker/config.json and containers-lab pull instead`,
  resourceClaims: `claims devices through ResourceClaims, which ${API_SERVER}`,
  readinessGates: `waits for conditions that controllers set, and this node has none`,
  ephemeralContainers: `are added through the API server's ephemeralcontainers subresource; use containers-lab exec`,
  overhead: `is set by the RuntimeClass admission controller, which ${API_SERVER}`,
  nodeName: `assigns the pod to a node by name: here the pod always runs on this node`,
};

const VOLUME_SOURCES: Record<string, string> = {
  configMap: `a ConfigMap ${API_SERVER}`,
  secret: `a Secret ${API_SERVER}`,
  persistentVolumeClaim: `a PersistentVolumeClaim ${API_SERVER}`,
  projected: `projected volumes carry service account tokens, ConfigMaps and Secrets, which the API server provides (this node has none)`,
  ephemeral: `a generic ephemeral volume is a PersistentVolumeClaim, which ${API_SERVER}`,
  csi: 'a CSI driver is a cluster add-on, and this node has none',
  downwardAPI: 'downwardAPI volumes are not offered by this node (use env fieldRef)',
  image: 'image volumes are not offered by this node',
};

export interface ClusterOnlyField {
  path: FieldPath;
  message: string;
}

/** Every cluster-only field in a (shape-checked) Pod. */
export function clusterOnlyFields(pod: Record<string, unknown>): ClusterOnlyField[] {
  const found: ClusterOnlyField[] = [];
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  for (const [field, reason] of Object.entries(SPEC_FIELDS)) {
    if (spec[field] === undefined || spec[field] === null) continue;
    // The default service account and a name of this node are what a lone kubelet means anyway.
    if ((field === 'serviceAccountName' || field === 'serviceAccount') && spec[field] === 'default' && spec.automountServiceAccountToken === false) continue;
    found.push({ path: ['spec', field], message: `${field} ${reason}` });
  }
  if (spec.automountServiceAccountToken === true) {
    found.push({ path: ['spec', 'automountServiceAccountToken'], message: 'a service account token is issued by the API server, and this node has none: set it to false or leave it out' });
  }
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((volume: Record<string, unknown>, index: number) => {
    for (const [source, reason] of Object.entries(VOLUME_SOURCES)) {
      if (volume?.[source] !== undefined) found.push({ path: ['spec', 'volumes', index, source], message: `${source} volume: ${reason}` });
    }
    const known = ['name', 'emptyDir', 'hostPath', ...Object.keys(VOLUME_SOURCES)];
    const other = Object.keys(volume ?? {}).find((key) => !known.includes(key));
    if (other) found.push({ path: ['spec', 'volumes', index, other], message: `${other} volume: network and cloud storage needs its driver and a cluster; this node offers emptyDir and hostPath` });
  });
  for (const group of ['initContainers', 'containers'] as const) {
    (Array.isArray(spec[group]) ? spec[group] : []).forEach((container: Record<string, unknown>, index: number) => {
      const at: FieldPath = ['spec', group, index];
      (Array.isArray(container?.envFrom) ? container.envFrom : []).forEach((_source: unknown, envIndex: number) => {
        found.push({ path: [...at, 'envFrom', envIndex], message: `envFrom reads a ConfigMap or Secret, which ${API_SERVER}` });
      });
      (Array.isArray(container?.env) ? container.env : []).forEach((variable: Record<string, unknown>, envIndex: number) => {
        const from = variable?.valueFrom as Record<string, unknown> | undefined;
        if (from?.configMapKeyRef) found.push({ path: [...at, 'env', envIndex, 'valueFrom', 'configMapKeyRef'], message: `configMapKeyRef: a ConfigMap ${API_SERVER}` });
        if (from?.secretKeyRef) found.push({ path: [...at, 'env', envIndex, 'valueFrom', 'secretKeyRef'], message: `secretKeyRef: a Secret ${API_SERVER}` });
        if (from?.fileKeyRef) found.push({ path: [...at, 'env', envIndex, 'valueFrom', 'fileKeyRef'], message: 'fileKeyRef is not offered by this node' });
      });
    });
  }
  return found;
}
