/*
 * The page side of a webview's link to the extension. A webview page cannot call the extension;
 * it can only post messages (and keep a little state that VS Code restores after a reload).
 * acquireVsCodeApi() may be called once per page, so every page goes through this module.
 */
interface VsCodeApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

let api: VsCodeApi<unknown> | undefined;
function vscodeApi<S>(): VsCodeApi<S> {
  api ??= acquireVsCodeApi<unknown>();
  return api as VsCodeApi<S>;
}

export function postToExtension<M>(message: M): void {
  vscodeApi().postMessage(message);
}

export function onExtensionMessage<M>(listener: (message: M) => void): void {
  window.addEventListener('message', (event: MessageEvent<M>) => listener(event.data));
}

/** State VS Code keeps for the page across hide/show and window reloads (the serializer gets it too). */
export function savePageState<S>(state: S): void {
  vscodeApi<S>().setState(state);
}

export function loadPageState<S>(): S | undefined {
  return vscodeApi<S>().getState();
}

/** The JSON the extension embedded in the page's HTML (see webview-html.ts). */
export function readInitialState<S>(): S | null {
  const element = document.getElementById('initial-state');
  return element?.textContent ? (JSON.parse(element.textContent) as S | null) : null;
}

/** Builds an element with attributes and children: small pages need no framework. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}
