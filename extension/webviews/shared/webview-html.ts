/*
 * The HTML shell every Containers Lab webview is served in.
 *
 * A webview is a sandboxed web page inside VS Code. Its Content Security Policy is the one wall
 * between what the page shows (container names, commands, file paths — text that came from a lab
 * host) and code that runs: only our own bundled script, marked with a fresh random nonce per
 * render, may execute; nothing is fetched from the network; styles come from our own bundle.
 * Colours come from VS Code's theme variables (--vscode-*), so every theme looks native.
 *
 * Each webview is one folder under extension/webviews/ with a `view/main.ts` (the page's script)
 * and `view/style.css`; build.mjs bundles them to dist/webviews/<name>.js and .css.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** A nonce: 128 random bits, base64 — unguessable, so injected markup cannot carry a valid one. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export interface WebviewPage {
  /** The webview folder's name: dist/webviews/<name>.js and .css are loaded. */
  name: string;
  title: string;
  /** Initial state handed to the page as JSON (read by the page with readInitialState()). */
  initialState?: unknown;
}

/** The options every panel is created with: scripts on, resources only from dist/webviews. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webviews')],
  };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = makeNonce();
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webviews', file)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  // JSON inside <script type="application/json"> is data, not code; "<" is escaped so no text
  // from the lab host can close the tag.
  const state = JSON.stringify(page.initialState ?? null).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset(`${page.name}.css`)}" nonce="${nonce}">
<title>${escapeHtml(page.title)}</title>
</head>
<body data-webview="${escapeHtml(page.name)}">
<div id="app" role="main" aria-label="${escapeHtml(page.title)}"></div>
<script id="initial-state" type="application/json" nonce="${nonce}">${state}</script>
<script nonce="${nonce}" src="${asset(`${page.name}.js`)}"></script>
</body>
</html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
