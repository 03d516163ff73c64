/*
 * The pod verbs through the real CLI (standalone: no service answers): apply -f, get pods
 * (table, -o wide, -o yaml, -o json), describe pod, logs POD -c C, exec POD -c C, delete -f and
 * delete pod NAME; bad input is one line and changes nothing.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './helpers/cli';
import { removeBridgeIfCreated } from './helpers/kernel-witness';

const BRIDGE = 'clpodscli0';
let dir: string;
let removeBridge: () => void;
const saved = { bridge: process.env.CONTAINERS_LAB_BRIDGE, subnet: process.env.CONTAINERS_LAB_SUBNET };

const cli = (...argv: string[]) => runCli(['--root', join(dir, 'root'), '--socket', join(dir, 'none.sock'), ...argv]);

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: talk
spec:
  initContainers:
  - name: hello
    image: busybox
    command: ["echo", "from init"]
  containers:
  - name: one
    image: busybox
    command: ["sh", "-c", "echo one says hi; exec sleep 600"]
  - name: two
    image: busybox:1.36
    args: ["sh", "-c", "echo two says hi; exec sleep 600"]
`;

beforeAll(() => {
  dir = mkdtempSync('/tmp/cl-pods-cli-');
  removeBridge = removeBridgeIfCreated(BRIDGE);
  process.env.CONTAINERS_LAB_BRIDGE = BRIDGE;
  process.env.CONTAINERS_LAB_SUBNET = '10.231.73.0/24';
  writeFileSync(join(dir, 'pod.yaml'), POD);
});

afterAll(async () => {
  await cli('delete', 'pod', 'talk', '--grace-period', '0');
  process.env.CONTAINERS_LAB_BRIDGE = saved.bridge;
  process.env.CONTAINERS_LAB_SUBNET = saved.subnet;
  if (saved.bridge === undefined) delete process.env.CONTAINERS_LAB_BRIDGE;
  if (saved.subnet === undefined) delete process.env.CONTAINERS_LAB_SUBNET;
  removeBridge();
  rmSync(dir, { recursive: true, force: true });
});

describe('pod verbs', () => {
  test('apply, get, describe, logs, exec, delete', async () => {
    const applied = await cli('apply', '-f', join(dir, 'pod.yaml'));
    expect(applied).toMatchObject({ code: 0, stdout: 'pod/talk created\n' });
    expect((await cli('apply', '-f', join(dir, 'pod.yaml'))).stdout).toBe('pod/talk unchanged\n');

    const table = await cli('get', 'pods');
    expect(table.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\ntalk\s+2\/2\s+Running\s+0\s+\d+s\n$/);
    const wide = await cli('get', 'pods', '-o', 'wide');
    expect(wide.stdout).toMatch(/talk\s+2\/2\s+Running\s+0\s+\d+s\s+10\.231\.73\.\d+\s+\S+\s+BestEffort/);
    const asYaml = parse((await cli('get', 'pods', 'talk', '-o', 'yaml')).stdout);
    expect(asYaml).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talk' }, status: { phase: 'Running', qosClass: 'BestEffort' } });
    const asJson = JSON.parse((await cli('get', 'pods', '-o', 'json')).stdout);
    expect(asJson.items[0].status.initContainerStatuses[0].state.terminated.reason).toBe('Completed');

    const described = (await cli('describe', 'pod', 'talk')).stdout;
    expect(described).toMatch(/^Name:\s+talk$/m);
    expect(described).toMatch(/QoS Class:\s+BestEffort/);
    expect(described).toMatch(/Normal\s+Started\s+.*spec\.containers\{two\}\s+Started container two/);

    expect((await cli('logs', 'talk', '-c', 'hello')).stdout).toBe('from init\n');
    expect((await cli('logs', 'talk')).stdout).toBe('one says hi\n');
    expect((await cli('logs', 'talk', '-c', 'two')).stdout).toBe('two says hi\n');
    expect(await cli('logs', 'talk', '-c', 'three')).toMatchObject({ code: 1, stderr: expect.stringMatching(/container three is not valid for pod talk/) });
    expect((await cli('exec', 'talk', '-c', 'two', '--', 'hostname')).stdout).toBe('talk\n');

    expect(await cli('get', 'nodes')).toMatchObject({ code: 1, stderr: expect.stringMatching(/resource type "nodes"/) });
    const deleted = await cli('delete', '-f', join(dir, 'pod.yaml'), '--grace-period', '1');
    expect(deleted).toMatchObject({ code: 0, stdout: 'pod "talk" deleted\n' });
    expect((await cli('get', 'pods')).stdout).toBe('No resources found in default namespace.\n');
    expect((await cli('ps', '-a', '--json')).stdout).toBe('[]\n');
    expect(existsSync(join(dir, 'root', 'pods', 'talk'))).toBe(false);
  }, 90_000);

  test('a bad manifest: one line with the file and line, nothing made', async () => {
    writeFileSync(join(dir, 'bad.yaml'), POD.replace('  - name: one\n', '  - name: one\n    imagePullPolicy: Sometimes\n'));
    const bad = await cli('apply', '-f', join(dir, 'bad.yaml'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad\.yaml:12: spec\.containers\[0\]\.imagePullPolicy: Unsupported value: "Sometimes"/);
    expect((await cli('get', 'pods')).stdout).toBe('No resources found in default namespace.\n');
    expect(await cli('delete', 'pod', 'nothing')).toMatchObject({ code: 1, stderr: expect.stringMatching(/pods "nothing" not found/) });
  });
});
