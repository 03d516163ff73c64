/*
 * Pull Image…, Run Image…, Remove Image. A pull shows one progress notification fed by the
 * agent's image.progress events (per layer: bytes of total); its Cancel button cancels the
 * request, and the agent then cuts the transfer and keeps nothing half-stored. Remove Image asks
 * the agent to refuse while a container stands on the image, and shows that one line if it does.
 * Everything is logged to the output channel; the Images view follows image.changed.
 */
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../agent/protocol';
import { REQUEST_CANCELLED, RpcError } from '../../agent/service/jsonrpc';
import type { Lab } from '../lab';
import { ImageNode } from '../views/images/image-node';
import type { ImageStore } from '../views/images/image-store';
import type { ImagesProvider } from '../views/images/images-provider';
import { imageLabel } from '../views/images/model';
import { PullProgress } from '../views/images/pull-progress';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';
import { startContainer } from './start-busybox';

/** Pulls can be long (hundreds of MB over a slow link): the request waits up to an hour. */
const PULL_TIMEOUT_MS = 60 * 60 * 1000;

async function pickImage(images: ImageStore, argument: unknown, placeHolder: string): Promise<string> {
  if (argument instanceof ImageNode) return argument.name;
  if (typeof argument === 'string') return images.find(argument)?.name ?? argument;
  const all = images.list();
  if (all.length === 0) throw new Error('There are no images: pull one first (Containers Lab: Pull Image…).');
  const picked = await vscode.window.showQuickPick(all.map((image) => ({ label: imageLabel(image), description: image.id.slice(7, 19), name: image.name })), { placeHolder });
  if (!picked) throw new Cancelled();
  return picked.name;
}

export function registerImageCommands(lab: Lab, images: ImageStore, view: ImagesProvider): void {
  registerLabCommand(lab, 'containersLab.pullImage', async (argument?: unknown) => {
    const client = await lab.ensureConnected();
    const reference = typeof argument === 'string' ? argument : await vscode.window.showInputBox({
      title: 'Pull Image', prompt: 'An image reference: alpine, library/nginx:1.27, host:5000/repo:tag, repo@sha256:…', placeHolder: 'alpine:3.20', ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' ? 'Name an image' : /\s/.test(value.trim()) ? 'No spaces in an image reference' : undefined),
    });
    if (reference === undefined) throw new Cancelled();
    const wanted = reference.trim();
    lab.output.info(`pulling ${wanted}…`);
    const started = Date.now();
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Containers Lab: pulling ${wanted}`, cancellable: true },
      async (progress, token) => {
        const tracker = new PullProgress();
        const controller = new AbortController();
        const cancel = token.onCancellationRequested(() => controller.abort());
        const events = lab.onNotification('image.progress', ({ reference: of, event }) => {
          if (of !== wanted) return;
          if (event.type === 'layer' && (event.state === 'downloaded' || event.state === 'present' || event.state === 'unpacked')) {
            lab.output.info(`pull ${wanted}: layer ${event.index + 1} ${event.state} (${event.digest.slice(7, 19)}, ${event.total} bytes)`);
          }
          progress.report(tracker.update(event));
        });
        try {
          return await client.call('image.pull', { reference: wanted }, { signal: controller.signal, timeoutMs: PULL_TIMEOUT_MS });
        } catch (error) {
          if (error instanceof RpcError && error.code === REQUEST_CANCELLED) {
            lab.output.info(`pull ${wanted} cancelled: the agent kept no partial layer and set no name`);
            throw new Cancelled();
          }
          throw error;
        } finally {
          cancel.dispose();
          events.dispose();
        }
      },
    );
    const fetched = result.layers.filter((layer) => layer.fetched).length;
    lab.output.info(`pulled ${result.image.name} (${result.image.digest}) in ${Date.now() - started} ms: ${fetched} of ${result.layers.length} layers fetched, the rest already here`);
    await images.load();
    await view.reveal(result.image.name).catch(() => undefined);
    return result.image.name;
  });

  registerLabCommand(lab, 'containersLab.runImage', async (argument?: unknown, command?: string[]): Promise<string> => {
    await lab.ensureConnected();
    const image = await pickImage(images, argument, 'Run which image?');
    let args = command;
    if (args === undefined) {
      const typed = await vscode.window.showInputBox({
        title: `Run ${image}`, prompt: 'The command, words separated by spaces; empty: the image\'s own Entrypoint and Cmd', placeHolder: '(the image\'s default)', ignoreFocusOut: true,
      });
      if (typed === undefined) throw new Cancelled();
      args = typed.trim() === '' ? [] : typed.trim().split(/\s+/);
    }
    // On a terminal, as `docker run -dit`: an image whose command is a shell stays up to be opened.
    const record: ContainerRecord = await startContainer(lab, { image, tty: true, ...(args.length > 0 ? { args } : {}) });
    images.containersChanged();
    return record.id;
  });

  registerLabCommand(lab, 'containersLab.removeImage', async (argument?: unknown) => {
    const client = await lab.ensureConnected();
    const image = await pickImage(images, argument, 'Remove which image?');
    // The agent refuses while a container stands on the image: its one line is the error shown.
    const { removed } = await client.call('image.remove', { reference: image, ifUnused: true });
    lab.output.info(`removed image ${removed.join(', ')} (its layers go with the next image prune, once nothing uses them)`);
    await images.load();
    return removed;
  });
}
