/*
 * A lab's static pod directory: the node runs the Pod YAML files in it without being asked, as a
 * kubelet runs its staticPodPath (where kubeadm keeps the control plane's own manifests). The lab
 * reads the directory after its setup and before every check — a kubelet rereads it on a timer —
 * with the pod engine's own reconciler (../pods/static-pods.ts): a new file makes its pod, a
 * changed file makes it again, a removed file deletes it. What that node says about a file it
 * cannot run goes to {{workdir}}/kubelet.log, the lab's `journalctl -u kubelet`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StaticPods } from '../pods/static-pods';
import type { LabContext } from './context';

export async function runStaticPods(context: LabContext): Promise<void> {
  const directory = context.lab.staticPodPath;
  if (!directory) return;
  mkdirSync(directory, { recursive: true });
  const seen = new Set<string>();
  const log = (line: string): void => {
    if (seen.has(line)) return;
    seen.add(line);
    appendFileSync(join(context.workdir, 'kubelet.log'), `${new Date().toISOString()} ${line}\n`);
  };
  const node = new StaticPods(context.pods(), directory, log);
  try {
    await node.scan();
  } finally {
    node.close();
  }
}
