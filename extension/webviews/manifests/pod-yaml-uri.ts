/*
 * The read-only Pod YAML document: containers-lab:/<name>/pod.yaml?<id>. It is served by the same
 * content provider as config.json (extension/commands/container-info.ts), which VS Code opens
 * read-only; the name ending in .yaml gives it YAML highlighting.
 */
import * as vscode from 'vscode';
import { MANIFEST_SCHEME } from '../../commands/container-info';

export function podYamlUri(id: string, name: string): vscode.Uri {
  return vscode.Uri.from({ scheme: MANIFEST_SCHEME, path: `/${name}/pod.yaml`, query: id });
}
