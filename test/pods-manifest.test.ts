/*
 * Pod YAML as the API server admits it: the committed field list is what kubernetes-models'
 * typings give today; unknown fields, wrong types, missing values and cluster-only fields are
 * refused with the field path and the YAML line; the kubelet's QoS, command and DNS rules.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { generatePodFields, GENERATED_FILE } from '../agent/pods/schema/generate-pod-fields';
import { podManifestProblems, readPodManifest } from '../agent/pods/manifest/read';
import { cpuShares, oomScoreAdj, podCgroupParent, podLevelResources, qosClass } from '../agent/pods/plan/qos';
import { commandOptions } from '../agent/pods/plan/command';
import { containerEnvironment } from '../agent/pods/plan/env';
import { hostsFile, resolvConf } from '../agent/pods/plan/network-files';
import { nextBackoff } from '../agent/pods/engine/backoff';
import { securityPlan } from '../agent/pods/plan/security';
import { securityFromRunOptions } from '../agent/oci/security-options';
import { CAPABILITY_NAMES } from '../agent/protocol/capabilities';
import type { Container, Pod } from '../agent/pods/manifest/types';

const GOOD = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c"]
    args: ["echo $(GREETING)"]
    env:
    - name: GREETING
      value: hello
    resources:
      requests:
        memory: 64Mi
`;

describe('Pod manifests', () => {
  test('the committed field list is what the package generates', () => {
    expect(JSON.parse(readFileSync(GENERATED_FILE, 'utf8'))).toEqual(generatePodFields());
  }, 60_000);

  test('a good manifest reads', () => {
    const manifest = readPodManifest(GOOD);
    expect(manifest.name).toBe('web');
    expect(manifest.namespace).toBe('default');
    expect(podManifestProblems(GOOD)).toEqual([]);
  });

  test('an unknown field names its path and line', () => {
    const text = GOOD.replace('    image: busybox', '    imagee: busybox');
    const problems = podManifestProblems(text);
    expect(problems).toContainEqual({ path: 'spec.containers[0].imagee', line: 8, message: 'unknown field "spec.containers[0].imagee"' });
    expect(() => readPodManifest(text, 'web.yaml')).toThrow(/^The Pod "web" is invalid: web\.yaml:8: spec\.containers\[0\]\.imagee: unknown field/);
  });

  test('wrong types, bad enums and missing values', () => {
    const wrong = GOOD.replace('kind: Pod', 'kind: Pod\n').replace('  containers:', '  restartPolicy: Sometimes\n  containers:');
    expect(podManifestProblems(wrong)[0]).toMatchObject({ path: 'spec.restartPolicy', line: 7 });
    const missing = GOOD.replace('    image: busybox\n', '');
    expect(podManifestProblems(missing)).toContainEqual({ path: 'spec.containers[0].image', line: 7, message: 'Required value' });
    const mount = GOOD.replace('    resources:', '    volumeMounts:\n    - name: data\n      mountPath: /data\n    resources:');
    expect(podManifestProblems(mount)).toContainEqual(expect.objectContaining({ path: 'spec.containers[0].volumeMounts[0].name', message: 'Not found: "data"' }));
    const syntax = 'apiVersion: v1\nkind: Pod\n  metadata: [';
    expect(() => readPodManifest(syntax)).toThrow(/^pod\.yaml:\d+: error converting YAML to JSON/);
    const limits = GOOD.replace('        memory: 64Mi', '        memory: 128Mi\n      limits:\n        memory: 64Mi');
    expect(podManifestProblems(limits)[0]!.message).toMatch(/must be less than or equal to memory limit of 64Mi/);
  });

  test('fields that need a cluster are refused in one line saying why', () => {
    const configMap = GOOD + '  volumes:\n  - name: cfg\n    configMap:\n      name: settings\n';
    const problems = podManifestProblems(configMap);
    expect(problems).toContainEqual(expect.objectContaining({ path: 'spec.volumes[0].configMap', line: 19 }));
    expect(problems[0]!.message).toMatch(/ConfigMap lives in the API server/);
    const selector = GOOD.replace('  containers:', '  nodeSelector:\n    disk: ssd\n  containers:');
    expect(() => readPodManifest(selector)).toThrow(/pod\.yaml:6: spec\.nodeSelector: Forbidden: nodeSelector chooses among nodes: it is read by the scheduler/);
    const account = GOOD.replace('  containers:', '  serviceAccountName: builder\n  containers:');
    expect(podManifestProblems(account)[0]!.message).toMatch(/API server issues/);
  });
});

describe('the kubelet rules', () => {
  const pod = (resources: object[]) => ({
    apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name: 'p' },
    spec: { containers: resources.map((r, i) => ({ name: `c${i}`, image: 'busybox', resources: r })) },
  });

  test('QoS classes, cgroup parents, shares and oom_score_adj', () => {
    const guaranteed = pod([{ limits: { cpu: '500m', memory: '64Mi' } }]);
    expect(qosClass(guaranteed)).toBe('Guaranteed');
    expect(podCgroupParent('Guaranteed', 'u1')).toBe('kubepods/podu1');
    expect(qosClass(pod([{}]))).toBe('BestEffort');
    expect(podCgroupParent('BestEffort', 'u1')).toBe('kubepods/besteffort/podu1');
    const burstable = pod([{ requests: { memory: '1Gi' } }, {}]);
    expect(qosClass(burstable)).toBe('Burstable');
    // 1000 − 1000 × 1 GiB / 4 GiB
    expect(oomScoreAdj('Burstable', burstable.spec.containers[0]!, 4 * 1024 ** 3)).toBe(750);
    expect(oomScoreAdj('Burstable', burstable.spec.containers[1]!, 4 * 1024 ** 3)).toBe(999);
    expect(oomScoreAdj('Guaranteed', guaranteed.spec.containers[0]!)).toBe(-997);
    expect(cpuShares(250)).toBe(256);
    expect(cpuShares(null)).toBe(2);
    expect(podLevelResources(guaranteed)).toEqual({ shares: 512, memoryLimit: 64 * 1024 ** 2, cpuQuotaMilli: 500 });
  });

  test('command and args over the image Entrypoint/Cmd; env with $(VAR) and fieldRefs', () => {
    const env = new Map([['X', '1']]);
    expect(commandOptions({ name: 'a', command: ['echo'], args: ['$(X)'] }, false, env)).toEqual({ entrypoint: ['echo'], args: ['1'] });
    expect(commandOptions({ name: 'a', args: ['-v'] }, false, env)).toEqual({ args: ['-v'] });
    expect(commandOptions({ name: 'a', command: ['sleep'] }, false, env)).toEqual({ entrypoint: ['sleep'], args: [] });
    expect(commandOptions({ name: 'a' }, false, env)).toEqual({});
    expect(commandOptions({ name: 'a', command: ['sh', '-c'], args: ['$$HOME'] }, true, env)).toEqual({ args: ['sh', '-c', '$HOME'] });
    const facts = { name: 'web', namespace: 'default', uid: 'u', nodeName: 'n', podIP: '10.0.0.2', hostIP: '1.2.3.4', labels: { app: 'x' }, annotations: {} };
    const vars = containerEnvironment({ name: 'a', env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'BOTH', value: '$(POD)@$(IP) $(NOPE)' },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
    ] }, facts);
    expect(Object.fromEntries(vars)).toEqual({ POD: 'web', IP: '10.0.0.2', BOTH: 'web@10.0.0.2 $(NOPE)', APP: 'x' });
  });

  test('hosts and resolv.conf per dnsPolicy', () => {
    const p = { apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name: 'web' }, spec: { hostname: 'h', subdomain: 's', containers: [] } };
    expect(hostsFile(p, '10.1.2.3')).toContain('10.1.2.3\th.s.default.svc.cluster.local\th\n');
    const host = 'search example.org\nnameserver 192.0.2.1\n';
    expect(resolvConf(p, host)).toEqual({ text: 'search example.org\nnameserver 192.0.2.1\n', warning: expect.stringMatching(/no cluster DNS/) });
    const none = { ...p, spec: { ...p.spec, dnsPolicy: 'None' as const, dnsConfig: { nameservers: ['192.0.2.9'], options: [{ name: 'ndots', value: '2' }] } } };
    expect(resolvConf(none, host)).toEqual({ text: 'nameserver 192.0.2.9\noptions ndots:2\n', warning: null });
  });

  test('privileged: true and capabilities.add [ALL] mean every capability the runtime holds; one it lacks, added by name, is refused', () => {
    // A stand-in runtime without CAP_SYS_RESOURCE (this host's root lacks it; another's may not).
    const held = CAPABILITY_NAMES.filter((name) => name !== 'CAP_SYS_RESOURCE');
    const capabilitiesOf = (securityContext: Container['securityContext']) => {
      const container = { name: 'c', image: 'busybox', securityContext } as Container;
      const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [container] } } as Pod;
      return securityFromRunOptions(securityPlan(manifest, container, 'spec.containers[0].securityContext').options, held).capabilities;
    };
    expect(capabilitiesOf({ privileged: true }).effective).toEqual(held);
    expect(capabilitiesOf({ capabilities: { add: ['ALL'] } }).bounding).toEqual(held);
    expect(() => capabilitiesOf({ capabilities: { add: ['SYS_RESOURCE'] } }))
      .toThrow(/^SYS_RESOURCE cannot be added: CAP_SYS_RESOURCE is not in this runtime's bounding set \(the host does not grant it\)$/);
  });

  test('crash-loop back-off: at once, then 10 s doubling to 5 min, reset after 10 min running', () => {
    let state = { delaySeconds: 0 };
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const step = nextBackoff(state, 1);
      waits.push(step.waitSeconds);
      state = step.next;
    }
    expect(waits).toEqual([0, 10, 20, 40, 80, 160, 300, 300]);
    expect(nextBackoff(state, 600).waitSeconds).toBe(0);
  });
});
