/*
 * The node's image pulls for pods, with the node's registry credentials.
 *
 * A kubelet that must pull an image from a private registry looks for docker-style credentials
 * on its node: first `config.json` in its root directory (/var/lib/kubelet/config.json — the
 * file `docker login` writes, `{"auths": {"HOST:PORT": {"auth": base64("user:password")}}}`),
 * then the docker config of the user it runs as (~/.docker/config.json). Here the kubelet's
 * root directory is `kubelet/` in the agent's state root. The pull itself is the agent's own
 * (../../image/pull.ts): an image that comes from a registry keeps the digests that registry serves.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dockerConfigPath } from '../../image/registry/credentials';
import type { ContainerRuntime } from '../../runtime/api';

/** The kubelet's root directory on this node (its --root-dir). */
export function kubeletDirectory(stateRoot: string): string {
  return join(stateRoot, 'kubelet');
}

/** The docker config a pull for a pod reads credentials from: the kubelet's own, else the user's. */
export function kubeletCredentialsPath(stateRoot: string): string {
  const own = join(kubeletDirectory(stateRoot), 'config.json');
  return existsSync(own) ? own : dockerConfigPath();
}

export function presentOnNode(runtime: ContainerRuntime, image: string): boolean {
  try {
    runtime.images.inspect(image);
    return true;
  } catch {
    return false;
  }
}

export async function pullForPod(runtime: ContainerRuntime, stateRoot: string, image: string): Promise<void> {
  await runtime.images.pull({ reference: image }, () => undefined, undefined, kubeletCredentialsPath(stateRoot));
}
