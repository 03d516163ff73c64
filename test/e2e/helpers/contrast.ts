/*
 * Colour contrast as WCAG 2 defines it, measured on what the browser drew, and the workbench's
 * colour theme switched the way a learner switches it (Preferences: Color Theme).
 *
 *   contrast ratio = (L1 + 0.05) / (L2 + 0.05), L1 the lighter relative luminance
 *   relative luminance = 0.2126 R + 0.7152 G + 0.0722 B of the linearised sRGB channels
 *
 * AA asks 4.5:1 for normal text. The text colour is the element's computed `color`; its
 * background is the first ancestor's (or its own) non-transparent `background-color`, with
 * translucent colours composited over what lies below — as the eye sees them.
 */
import type { Frame, Page } from 'playwright-core';
import { runCommand } from './browser';

export const WCAG_AA_TEXT = 4.5;

type Rgba = [number, number, number, number];

export interface Contrast {
  ratio: number;
  /** The colours compared, composited, as rgb(…). */
  text: string;
  background: string;
}

/** The drawn colours of the first element `selector` matches in `frame`, and their contrast. */
export async function contrastOf(frame: Frame, selector: string): Promise<Contrast> {
  const colours = await frame.locator(selector).first().evaluate((element) => {
    const layers: string[] = [];
    for (let node: Element | null = element; node; node = node.parentElement) layers.push(getComputedStyle(node).backgroundColor);
    return { text: getComputedStyle(element).color, backgrounds: layers };
  });
  // The page's backgrounds from the element outwards: composite from the outside in, over white (a canvas with nothing set).
  let background: Rgba = [255, 255, 255, 1];
  for (const layer of [...colours.backgrounds].reverse()) background = over(parse(layer), background);
  const text = over(parse(colours.text), background);
  return { ratio: ratio(text, background), text: show(text), background: show(background) };
}

/**
 * Switches the workbench's colour theme as a learner does: "Preferences: Color Theme", then the
 * theme by its label ("Light+", "Dark Modern", …). VS Code applies it and writes the setting itself.
 */
export async function chooseColourTheme(page: Page, label: string): Promise<void> {
  await runCommand(page, 'Preferences: Color Theme');
  const input = page.locator('.quick-input-widget .quick-input-filter input').first();
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(label);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
  await page.locator('.quick-input-widget').first().waitFor({ state: 'hidden', timeout: 15_000 });
}

/** The theme a webview page is drawn in now: VS Code writes its id and name on the page's body. */
export function pageTheme(frame: Frame): Promise<string[]> {
  return frame.evaluate(() => ['data-vscode-theme-id', 'data-vscode-theme-name'].map((name) => document.body.getAttribute(name) ?? ''));
}

function parse(css: string): Rgba {
  const match = /rgba?\(([^)]+)\)/.exec(css);
  if (!match) throw new Error(`not an rgb() colour: ${css}`);
  const [r = 0, g = 0, b = 0, a = 1] = match[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
  return [r, g, b, a];
}

function over(top: Rgba, below: Rgba): Rgba {
  const alpha = top[3];
  return [0, 1, 2].map((index) => top[index]! * alpha + below[index]! * (1 - alpha)).concat(1) as Rgba;
}

function luminance([r, g, b]: Rgba): number {
  const linear = (channel: number): number => {
    const value = channel / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** The contrast of two CSS rgb() colours (opaque), e.g. to check the measure against WCAG's own examples. */
export function contrastBetween(first: string, second: string): number {
  return ratio(parse(first), parse(second));
}

function ratio(first: Rgba, second: Rgba): number {
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function show([r, g, b]: Rgba): string {
  return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
}
