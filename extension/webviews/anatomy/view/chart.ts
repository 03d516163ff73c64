/*
 * A small area chart drawn as inline SVG: enough for a minute of samples, no library. The series is
 * scaled to the chart's height against a ceiling (the cgroup limit when there is one, else the
 * largest value seen), the limit is a dashed line, and marked samples (OOM kills) get a red tick.
 */
const SVG = 'http://www.w3.org/2000/svg';

export interface AreaChartOptions {
  /** Oldest first; null = no value for that sample (e.g. the first CPU rate). */
  values: (number | null)[];
  /** How many samples the x axis holds (the chart fills from the right as samples come). */
  capacity: number;
  /** The cgroup limit, drawn as a dashed line; null = unlimited. */
  limit: number | null;
  /** Indices of samples to mark (OOM kills). */
  markers?: number[];
  /** Accessible description: "memory: 1.2 MiB of 64 MiB". */
  label: string;
}

const WIDTH = 240;
const HEIGHT = 56;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

export function areaChart(options: AreaChartOptions): SVGSVGElement {
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': options.label, class: 'chart' });
  const present = options.values.filter((value): value is number => value !== null);
  // Headroom above the highest point; a limit far above the usage would flatten it, so the
  // ceiling is the limit only when usage comes within reach of it (a quarter of the way).
  const peak = Math.max(0, ...present);
  const limitInReach = options.limit !== null && peak >= options.limit / 4;
  const ceiling = Math.max(limitInReach ? options.limit! * 1.05 : peak * 1.25, Number.EPSILON);
  const step = WIDTH / Math.max(1, options.capacity - 1);
  const offset = options.capacity - options.values.length;
  const x = (index: number): number => (offset + index) * step;
  const y = (value: number): number => HEIGHT - Math.min(1, value / ceiling) * (HEIGHT - 2);

  const points = options.values.map((value, index) => (value === null ? null : ([x(index), y(value)] as const)));
  const drawn = points.filter((point): point is readonly [number, number] => point !== null);
  if (drawn.length > 0) {
    const line = drawn.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
    const first = drawn[0]!;
    const last = drawn[drawn.length - 1]!;
    root.append(svg('polygon', { points: `${first[0].toFixed(1)},${HEIGHT} ${line} ${last[0].toFixed(1)},${HEIGHT}`, class: 'area' }));
    root.append(svg('polyline', { points: line, class: 'line' }));
  }
  if (limitInReach) {
    const ly = y(options.limit!);
    root.append(svg('line', { x1: 0, x2: WIDTH, y1: ly, y2: ly, class: 'limit' }));
  }
  for (const index of options.markers ?? []) {
    root.append(svg('line', { x1: x(index), x2: x(index), y1: 0, y2: HEIGHT, class: 'marker' }));
  }
  return root;
}
