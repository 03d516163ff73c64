/*
 * How cytoscape draws the topology. Every node is a plain box whose size, position and text the
 * layout (./layout.ts) decided — none is a cytoscape compound node, so cytoscape never resizes a
 * box around its children or moves a label outside it:
 *
 *   data(w), data(h)     the box's size          data(text)        its lines (one font, one size)
 *   data(lx), data(ly)   its text's centre, from the box's centre (cytoscape's text margins)
 *
 * An edge laid along the gutters is a 'segments' edge through the layout's points: it starts and
 * ends where the layout says (data(sep), data(tep): offsets from its ends' centres), and its bends
 * are given as weights along that start→end line and distances from it (data(ws), data(ds)).
 * Colours come from the VS Code theme (./theme.ts); boxes are drawn back to front by z-index.
 */
import type cytoscape from 'cytoscape';
import { FONT_SIZE, LINE_HEIGHT } from './labels';
import type { GraphColours } from './theme';

/** A style value read from the element's data (cytoscape's typings want the property's own type). */
const fromData = <T>(field: string): T => `data(${field})` as unknown as T;

/** Back to front: the host's box, namespace boxes, container boxes, cables, then everything inside. */
const Z_ORDER = { host: 0, netns: 1, container: 2, edge: 3, leaf: 4 } as const;

export function graphStyle(c: GraphColours): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(text)',
        width: fromData<number>('w'),
        height: fromData<number>('h'),
        'text-wrap': 'wrap',
        'text-max-width': '100000px',
        'text-valign': 'center',
        'text-halign': 'center',
        'text-margin-x': fromData<number>('lx'),
        'text-margin-y': fromData<number>('ly'),
        'line-height': LINE_HEIGHT / FONT_SIZE,
        'font-family': c.font,
        'font-size': FONT_SIZE,
        color: c.foreground,
        'background-color': c.background,
        'border-width': 1.5,
        'border-color': c.veth,
        shape: 'round-rectangle',
        'corner-radius': '4',
        // Text too small to read at this zoom is not drawn (zoom in, or read the list view).
        'min-zoomed-font-size': 6,
        // Drawing order by z-index alone (see Z_ORDER).
        'z-compound-depth': 'orphan',
        'z-index-compare': 'manual',
        'z-index': Z_ORDER.leaf,
      },
    },
    { selector: 'node[kind = "bridge"]', style: { 'border-color': c.bridge, 'border-width': 2 } },
    { selector: 'node[kind = "loopback"], node[kind = "device"]', style: { 'border-style': 'dotted' } },
    { selector: 'node[state = "down"]', style: { 'border-color': c.down } },
    { selector: 'node[kind = "process"]', style: { 'border-color': c.process, 'corner-radius': '8' } },
    {
      selector: 'node[kind = "host"], node[kind = "netns"], node[kind = "container"]',
      style: { 'font-weight': 'bold', 'background-opacity': 0.06 },
    },
    { selector: 'node[kind = "host"]', style: { 'border-color': c.host, 'background-color': c.host, 'z-index': Z_ORDER.host } },
    { selector: 'node[kind = "netns"]', style: { 'border-color': c.netns, 'background-color': c.netns, 'border-style': 'dashed', 'z-index': Z_ORDER.netns } },
    { selector: 'node[kind = "container"]', style: { 'border-color': c.container, 'background-color': c.container, 'z-index': Z_ORDER.container } },
    { selector: 'node[kind = "container"][state != "running"]', style: { 'border-style': 'dashed' } },
    {
      selector: 'edge',
      style: { width: 1.5, 'curve-style': 'straight', 'line-color': c.bridge, 'line-style': 'dashed', 'z-compound-depth': 'orphan', 'z-index-compare': 'manual', 'z-index': Z_ORDER.edge },
    },
    {
      selector: 'edge[?routed]',
      style: {
        'curve-style': 'segments',
        // (measured from the manual endpoints: cytoscape has it, its typings do not)
        'edge-distances': 'endpoints' as 'intersection',
        'source-endpoint': 'data(sep)',
        'target-endpoint': 'data(tep)',
        'segment-weights': 'data(ws)',
        'segment-distances': 'data(ds)',
      },
    },
    { selector: 'edge[kind = "veth"]', style: { width: 2.5, 'line-color': c.veth, 'line-style': 'solid' } },
    { selector: 'node[kind = "port"]', style: { 'border-color': c.container, 'border-style': 'double', 'border-width': 3 } },
    { selector: 'node[kind = "peer"]', style: { 'border-color': c.host, 'border-width': 2, 'font-weight': 'bold' } },
    { selector: 'node[kind = "peer"][state = "down"]', style: { 'border-style': 'dashed' } },
    { selector: 'edge[kind = "dnat"]', style: { 'line-color': c.container, 'line-style': 'dotted', 'target-arrow-shape': 'triangle', 'target-arrow-color': c.container } },
    { selector: 'edge[kind = "route"], edge[kind = "tunnel"]', style: { width: 2.5, 'line-color': c.host, 'target-arrow-shape': 'triangle', 'target-arrow-color': c.host } },
    { selector: 'edge[kind = "tunnel"]', style: { 'line-style': 'dashed', 'line-dash-pattern': [8, 4] } },
    { selector: ':selected', style: { 'border-color': c.focus, 'border-width': 3, 'overlay-color': c.focus, 'overlay-opacity': 0.12 } },
    { selector: 'edge:selected', style: { 'line-color': c.focus } },
  ];
}
