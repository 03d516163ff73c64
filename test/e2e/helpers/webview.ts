/*
 * Reaching into a webview panel from the outside, as the e2e tests need to.
 *
 * A webview is two nested iframes in the workbench: VS Code's host frame
 * (`<iframe class="webview" name="<webview id>">`, which carries no title of its own), and inside it
 * the extension's page (`<iframe id="active-frame">`; while new HTML loads a `pending-frame`
 * replaces it). The only place the panel's identity shows is the page itself: the <title> our
 * webview-html.ts writes, and the `data-webview="<folder name>"` on its <body>. So a panel is found
 * by walking Playwright's frames, reading each page's title, and climbing to its host frame's name,
 * which makes a stable FrameLocator for clicks and DOM assertions.
 *
 * Panels are created with retainContextWhenHidden off: a panel in a background tab has no frames at
 * all, so bring it to the front before looking for it.
 */
import type { Frame, FrameLocator, Page } from 'playwright-core';

export interface WebviewQuery {
  /** The page's <title> (the panel's title when it was created): exact text or a pattern. */
  title?: string | RegExp;
  /** The webview folder's name (body[data-webview]), e.g. "topology". */
  name?: string;
}

export interface WebviewFrame {
  /** The extension's page: evaluate() reads its window (e.g. a model it exposes). */
  frame: Frame;
  /** The same page as a FrameLocator: locator().click(), toHaveText-style waits, keyboard focus. */
  locator: FrameLocator;
  /** The host iframe's name (VS Code's id for this webview). */
  hostName: string;
}

function matches(query: WebviewQuery, page: { title: string; name: string | null }): boolean {
  if (query.name !== undefined && page.name !== query.name) return false;
  if (query.title === undefined) return true;
  return typeof query.title === 'string' ? page.title === query.title : query.title.test(page.title);
}

function describeQuery(query: WebviewQuery): string {
  return [query.title !== undefined ? `title ${String(query.title)}` : '', query.name !== undefined ? `name "${query.name}"` : ''].filter(Boolean).join(', ') || 'any';
}

/** The webviews whose extension page is loaded now: [title, name] per page (for error messages). */
export async function loadedWebviews(page: Page): Promise<{ title: string; name: string | null; hostName: string; frame: Frame }[]> {
  const found: { title: string; name: string | null; hostName: string; frame: Frame }[] = [];
  for (const frame of page.frames()) {
    const host = frame.parentFrame();
    // The extension's page is the child of a host frame; VS Code's own frames have no data-webview.
    if (!host || host === page.mainFrame() || frame.isDetached()) continue;
    if (!/^(active-frame|pending-frame)$/.test(await frame.frameElement().then((element) => element.getAttribute('id')).catch(() => null) ?? '')) continue;
    const seen = await frame
      .evaluate(() => ({ title: document.title, name: document.body?.getAttribute('data-webview') ?? null, ready: document.readyState }))
      .catch(() => null);
    if (!seen || seen.ready === 'loading') continue;
    found.push({ title: seen.title, name: seen.name, hostName: host.name(), frame });
  }
  return found;
}

/** Waits for a webview panel's page (by title and/or webview name) and returns it. */
export async function waitForWebview(page: Page, query: WebviewQuery, timeout = 30_000): Promise<WebviewFrame> {
  const deadline = Date.now() + timeout;
  let seen: string[] = [];
  for (;;) {
    const pages = await loadedWebviews(page);
    const hit = pages.find((candidate) => matches(query, candidate));
    if (hit && hit.hostName) {
      const locator = page.frameLocator(`iframe.webview[name="${hit.hostName}"]`).frameLocator('#active-frame');
      return { frame: hit.frame, locator, hostName: hit.hostName };
    }
    seen = pages.map((candidate) => `"${candidate.title}" (${candidate.name ?? 'no data-webview'})`);
    if (Date.now() > deadline) throw new Error(`no webview with ${describeQuery(query)} within ${timeout / 1000} s; loaded: ${seen.join(', ') || 'none'}`);
    await page.waitForTimeout(100);
  }
}

/**
 * Evaluates `probe` in the webview's page until it returns something other than false/null/undefined,
 * re-finding the page if VS Code replaced it (a reload, new HTML); returns that value.
 */
export async function waitInWebview<T, A>(page: Page, query: WebviewQuery, probe: (argument: A) => T | false | null | undefined, argument: A, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    const remaining = Math.max(1_000, deadline - Date.now());
    const { frame } = await waitForWebview(page, query, remaining);
    try {
      // (the probe's source is sent to the page: it may use only its argument and the page's globals)
      const handle = await frame.waitForFunction(probe as (argument: unknown) => unknown, argument as unknown, { polling: 'raf', timeout: Math.max(100, deadline - Date.now()) });
      return (await handle.jsonValue()) as T;
    } catch (error) {
      last = error;
      if (!frame.isDetached() || Date.now() > deadline) throw new Error(`webview ${describeQuery(query)}: the condition did not hold within ${timeout / 1000} s (${String(last)})`);
    }
  }
}
