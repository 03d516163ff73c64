/*
 * What each node of the topology says on the page, and how wide that text is.
 *
 * The layout (./layout.ts) sizes every box to its text, so the text is decided here, once, for
 * both: one font size for every label (FONT_SIZE model units; the page's zoom turns it into screen
 * pixels), one line height. Boxes say little — a name, an address, a PID — because the selection
 * bar, the offscreen list and the SVG export carry the long form (node.detail):
 *
 *   host   "host network namespace · net:[4026531840]"     netns  "net:[4026532890]" or "pod web · net:[…]"
 *   link   "eth0 10.77.0.2/24"  (fe80:: and lo's 127.0.0.1/8, ::1 are on every link and say little)
 *   bridge "cl0 · bridge 10.77.0.1/24"                       container "web" (its status when not running)
 *   process "sleep 600 · pid 1"  (the PID its own namespace gives it)
 *
 * Widths: the page measures with the canvas (the font cytoscape draws with); without a browser
 * (unit tests) estimateTextWidth uses DejaVu Sans' advance widths — the widest of the usual UI
 * fallback fonts, and the one a bare Debian host renders with — so an estimate is never narrower
 * than the drawing.
 */
import type { TopologyNodeData } from '../model';

/** Every label's font size, in model units (× zoom = screen pixels). */
export const FONT_SIZE = 13;
/** One line of text, in model units (cytoscape's line-height is LINE_HEIGHT / FONT_SIZE). */
export const LINE_HEIGHT = 16;
/** Longest command line a process box shows (a shell's trap loop would span the page). */
const COMMAND_CHARS = 22;

export interface NodeText {
  lines: string[];
  /** Box headers (namespaces, containers) are bold. */
  bold: boolean;
}

/** Width of one line of text at FONT_SIZE, in model units. */
export type MeasureText = (text: string, bold: boolean) => number;

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1/8', '::1/128']);

/** The addresses worth printing on a link: not the link-local IPv6 and loopback ones every link has. */
function shownAddresses(node: TopologyNodeData): string[] {
  return node.addresses.filter((address) => !address.startsWith('fe80:') && !LOOPBACK_ADDRESSES.has(address));
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function nodeText(node: TopologyNodeData): NodeText {
  switch (node.kind) {
    case 'host':
      return { lines: [`host network namespace · ${node.detail}`], bold: true };
    case 'netns':
      // A pod's box is named after the pod; any other namespace by its inode (its containers are
      // inside). What a pod's members share with its sandbox stays in the detail (the selection bar).
      return { lines: [node.label.startsWith('pod ') ? `${node.label} · ${node.detail.split(' · ')[0]}` : node.detail.split(' · ')[0]!], bold: true };
    case 'container':
      return { lines: [node.state === 'running' ? node.label : `${node.label} · ${node.state}`], bold: true };
    case 'process':
      return { lines: [`${clip(node.label, COMMAND_CHARS)} · ${node.detail.replace(/ inside.*$/, '')}`], bold: false };
    case 'port':
      return { lines: [`port ${node.label}`], bold: false };
    case 'peer':
      // "node lab2 · 10.244.2.0/24" over "route via 192.168.56.12" / "VXLAN 42 to 192.168.56.12"
      return { lines: [`${node.label} · ${node.addresses[0] ?? ''}`, node.detail.slice(node.detail.indexOf(' · ') + 3)], bold: true };
    default: {
      const [first, ...rest] = shownAddresses(node);
      const name = node.kind === 'bridge' ? `${node.label} · bridge` : node.label;
      const down = node.state === 'down' ? ' · down' : '';
      return { lines: [`${name}${first ? ` ${first}` : ''}${down}`, ...rest], bold: false };
    }
  }
}

// DejaVu Sans advance widths (em) for the characters labels are made of; others count as wide.
const NARROW = { ' ': 0.318, '.': 0.318, ',': 0.318, ':': 0.337, '/': 0.337, '-': 0.361, '·': 0.318, '[': 0.39, ']': 0.39, '(': 0.39, ')': 0.39, i: 0.278, j: 0.278, l: 0.278, f: 0.352, t: 0.392, r: 0.411, I: 0.295 } as Record<string, number>;
const MEDIUM = { a: 0.613, b: 0.635, c: 0.55, d: 0.635, e: 0.615, g: 0.635, h: 0.634, k: 0.579, n: 0.634, o: 0.612, p: 0.635, q: 0.635, s: 0.521, u: 0.634, v: 0.592, x: 0.592, y: 0.592, z: 0.525, _: 0.5 } as Record<string, number>;
const DIGIT = 0.636;
const WIDE = 0.75;
/** Bold DejaVu is about this much wider. */
const BOLD = 1.1;

export const estimateTextWidth: MeasureText = (text, bold) => {
  let em = 0;
  for (const char of text) em += NARROW[char] ?? MEDIUM[char] ?? (char >= '0' && char <= '9' ? DIGIT : char === 'm' ? 0.974 : char === 'w' ? 0.818 : WIDE);
  return em * FONT_SIZE * (bold ? BOLD : 1);
};
