/*
 * "Open in Browser" on a published TCP port: http://127.0.0.1:HOSTPORT (or the one address it is
 * published on). asExternalUri turns it into an address the user's browser can reach when VS Code
 * runs remotely (code-server, a remote window forwards the port); openExternal opens it.
 */
import * as vscode from 'vscode';
import type { Lab } from '../lab';
import { PortNode } from '../views/containers/ports-node';
import { registerLabCommand } from './register';

export function registerOpenPortCommand(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.openPort', async (argument?: unknown) => {
    const url = argument instanceof PortNode ? argument.row.url : typeof argument === 'string' ? argument : null;
    if (!url) throw new Error('Open in Browser works on a published TCP port (the Ports section of a container)');
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
    lab.output.info(`opening ${url}${external.toString() !== vscode.Uri.parse(url).toString() ? ` as ${external.toString()}` : ''}`);
    await vscode.env.openExternal(external);
    return external.toString();
  });
}
