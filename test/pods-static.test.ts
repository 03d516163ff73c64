/*
 * Static pods: a directory watched as the kubelet watches its staticPodPath — a file added makes
 * its pod, a changed file makes it again (a new uid), a removed file deletes it; a broken file is
 * reported once and changes nothing. And `serve --static-pod-path` is an option of the CLI.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { StaticPods } from '../agent/pods/static-pods';
import { usePods } from './helpers/pods';
import { runCli } from './helpers/cli';

const fixture = usePods('static', 'clpodsst0', '10.231.76.0/24');

const manifest = (command: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: kept
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "${command}"]
`;

describe('static pods', () => {
  test('add, change, remove a file', async () => {
    const directory = `/tmp/cl-pods-static-dir-${process.pid}`;
    mkdirSync(directory, { recursive: true });
    const lines: string[] = [];
    const statics = new StaticPods(fixture.engine(), directory, (line) => lines.push(line));
    try {
      writeFileSync(`${directory}/kept.yaml`, manifest('echo one; exec sleep 600'));
      // No scan() asked for: the directory's watch sees the file.
      const first = await fixture.waitFor('kept', (p) => p.status.phase === 'Running', 15_000);
      expect(first.source).toBe(`${directory}/kept.yaml`);

      writeFileSync(`${directory}/kept.yaml`, manifest('echo two; exec sleep 600'));
      const second = await fixture.waitFor('kept', (p) => p.uid !== first.uid && p.status.phase === 'Running', 15_000);
      expect(fixture.runtime().logs(second.status.containerStatuses[0]!.containerID!).toString()).toBe('two\n');
      expect(() => fixture.runtime().inspect(first.status.containerStatuses[0]!.containerID!)).toThrow(/no container/);

      writeFileSync(`${directory}/broken.yaml`, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers: []\n');
      writeFileSync(`${directory}/.hidden.yaml`, manifest('exit 1').replace('name: kept', 'name: hidden'));
      await statics.scan();
      expect(lines.filter((line) => line.includes('broken.yaml'))).toEqual([expect.stringMatching(/broken\.yaml:6: spec\.containers: Required value/)]);
      expect(fixture.engine().list().map((p) => p.name)).toEqual(['kept']);

      rmSync(`${directory}/kept.yaml`);
      await statics.scan();
      expect(fixture.engine().list()).toEqual([]);
      expect(fixture.runtime().list()).toEqual([]);
    } finally {
      statics.close();
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  test('serve takes --static-pod-path', async () => {
    const help = await runCli(['help', 'serve']);
    expect(help.stdout).toContain('--static-pod-path DIR');
  });
});
