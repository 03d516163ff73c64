/*
 * A container's files in editors: a read-only file system of the extension's own
 * (containers-lab-file://<container id>/<path>) served by the agent's container.files.* methods,
 * so "Open File" shows the container's copy (the merged view: upper if the container wrote it,
 * else the image layer's) and nothing can be saved back. "Download…" copies a file, chunk by
 * chunk, to a place the user picks.
 */
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { FILES_READ_LIMIT } from '../../agent/protocol';
import type { Lab } from '../lab';
import { CONTAINER_FILE_SCHEME } from '../views/containers/files-model';
import { FileEntryNode, containerFileUri } from '../views/containers/file-entry-node';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';

/** Larger files are not opened in an editor (Download… takes any size). */
const OPEN_LIMIT = 16 * 1024 * 1024;

class ContainerFileSystem implements vscode.FileSystemProvider {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;

  constructor(private readonly lab: Lab) {}

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const read = await this.lab.client().call('container.files.read', { id: uri.authority, path: uri.path, length: 0 });
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: read.size, permissions: vscode.FilePermission.Readonly };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const read = await this.lab.client().call('container.files.read', { id: uri.authority, path: uri.path, offset });
      if (read.size > OPEN_LIMIT) throw vscode.FileSystemError.Unavailable(`${uri.path} is ${read.size} bytes: too large to open here, use Download…`);
      const data = Buffer.from(read.data, 'base64');
      chunks.push(data);
      offset += data.length;
      if (read.eof || data.length === 0) break;
    }
    return Buffer.concat(chunks);
  }

  readDirectory(): never {
    throw vscode.FileSystemError.NoPermissions('browse directories in the Files node of the Containers view');
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  createDirectory(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  writeFile(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): never {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}

/** A Files entry, or `{ id, path }` from a caller (tests, other commands). */
function fileTarget(argument: unknown): { id: string; path: string } {
  if (argument instanceof FileEntryNode) return { id: argument.containerId, path: argument.path };
  const given = argument as { id?: unknown; path?: unknown } | null;
  if (given && typeof given.id === 'string' && typeof given.path === 'string') return { id: given.id, path: given.path };
  throw new Error('Choose a file under a container\'s Files node.');
}

export function registerContainerFileCommands(lab: Lab): void {
  lab.context.subscriptions.push(vscode.workspace.registerFileSystemProvider(CONTAINER_FILE_SCHEME, new ContainerFileSystem(lab), { isCaseSensitive: true, isReadonly: true }));

  registerLabCommand(lab, 'containersLab.openContainerFile', async (argument?: unknown) => {
    const { id, path } = fileTarget(argument);
    const uri = containerFileUri(id, path);
    lab.output.info(`opening ${path} of ${id} (read-only)`);
    await vscode.commands.executeCommand('vscode.open', uri, { preview: true });
    return uri.toString();
  });

  registerLabCommand(lab, 'containersLab.downloadContainerFile', async (argument?: unknown, destination?: string) => {
    const { id, path } = fileTarget(argument);
    const name = path.split('/').pop() || 'file';
    const target = destination
      ? vscode.Uri.file(destination)
      : await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(homedir()), name), saveLabel: 'Download' });
    if (!target) throw new Cancelled();
    const size = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Containers Lab: downloading ${path}`, cancellable: true },
      async (progress, token) => {
        const file = await open(target.fsPath, 'w', 0o644);
        let offset = 0;
        try {
          for (;;) {
            if (token.isCancellationRequested) throw new Cancelled();
            const read = await lab.client().call('container.files.read', { id, path, offset, length: FILES_READ_LIMIT });
            const data = Buffer.from(read.data, 'base64');
            await file.write(data, 0, data.length, offset);
            offset += data.length;
            progress.report({ message: `${offset} of ${read.size} bytes`, increment: read.size > 0 ? (100 * data.length) / read.size : 100 });
            if (read.eof || data.length === 0) break;
          }
        } finally {
          await file.close();
        }
        return offset;
      },
    );
    lab.output.info(`downloaded ${path} of ${id} to ${target.fsPath} (${size} bytes)`);
    return target.fsPath;
  });
}
