/*
 * The Manifests page for a container: its OCI config.json and the Kubernetes Pod that asks for the same
 * container, side by side, each exactly as its read-only document reads.
 *
 * Select a field on either side (click it, or move with ↑/↓ in a document and the selection
 * follows) and the page highlights the matching field on the other side and shows the kernel
 * object the field produced — a namespace inode, a number in a cgroup file, the hostname in the
 * uts namespace — as the kernel reports it right now (the extension reads it fresh for each
 * selection).
 */
import { h, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import type { FieldSpan } from '../document-fields';
import { pathAndAncestors } from '../field-paths';
import type { KernelObject } from '../kernel-objects';
import type { FromPage, ImageConfigDocument, ManifestDocument, ManifestsState, PageLink, ToPage } from '../messages';

type Side = 'config' | 'pod';
const SIDES: Side[] = ['config', 'pod'];
const OTHER: Record<Side, Side> = { config: 'pod', pod: 'config' };

const state = readInitialState<ManifestsState & { selected?: string }>() ?? { id: '', name: '' };
savePageState(state);
const send = (message: FromPage): void => postToExtension(message);

// --- skeleton -----------------------------------------------------------------------------------

const app = document.getElementById('app')!;
const status = h('span', { class: 'badge', id: 'status', 'aria-live': 'polite' }, '…');
const banner = h('div', { id: 'banner', role: 'status', hidden: true });
app.append(
  h('header', {}, h('div', { class: 'title-row' }, h('h1', {}, state.name), status), h('p', { class: 'muted' }, 'The same container asked for in two languages. Select a field (click, or ↑/↓ inside a document) to see its counterpart and the kernel object it became.')),
  banner,
);

interface DocumentView {
  side: Side;
  element: HTMLElement;
  lines: HTMLElement[];
  fields: FieldSpan[];
  /** Lines where a field starts, in order: the stops for ↑/↓. */
  stops: number[];
  active: number | null;
}

const views = {} as Record<Side, DocumentView>;
const columns = h('div', { class: 'columns' });
for (const side of SIDES) {
  const heading = side === 'config' ? 'config.json (OCI runtime spec)' : 'Pod YAML (Kubernetes)';
  const openButton = h('button', { type: 'button', class: 'secondary', id: `open-${side}` }, 'Open as document');
  openButton.addEventListener('click', () => send({ type: 'open', document: side }));
  const element = h('div', { class: 'document', id: `${side}-document`, role: 'listbox', tabindex: 0, 'aria-label': heading });
  columns.append(h('section', { class: 'column', 'aria-label': heading }, h('div', { class: 'column-head' }, h('h2', {}, heading), openButton), element));
  views[side] = { side, element, lines: [], fields: [], stops: [], active: null };
}
const kernelPanel = h('aside', { id: 'kernel', 'aria-live': 'polite', 'aria-label': 'Kernel object' }, h('p', { class: 'muted' }, 'Select a field to see the kernel object it produced.'));
const imagePanel = h('section', { id: 'image-config', hidden: true, 'aria-label': 'Image config' });
app.append(columns, kernelPanel, imagePanel);

/** The image config that became this config.json, when the container was made from an image. */
function drawImage(image: ImageConfigDocument | undefined): void {
  imagePanel.hidden = image === undefined;
  if (!image) return;
  imagePanel.replaceChildren(
    h('h2', {}, `Image config (${image.name}) → config.json`),
    h('p', { class: 'muted' }, 'Entrypoint + Cmd became process.args, Env process.env, WorkingDir process.cwd, User process.user (by name through the image\'s /etc/passwd and /etc/group), Labels annotations.'),
    image.text === null ? h('p', { class: 'muted' }, 'The image is no longer in the store (removed); the container keeps its layers.') : h('pre', { class: 'document image-config', tabindex: 0 }, image.text),
  );
}

let links: PageLink[] = [];
let selectedLink: PageLink | null = null;

// --- drawing the documents ----------------------------------------------------------------------

/** One line of text with its key coloured ("key": / key:), everything else as is. */
function lineContent(text: string): (Node | string)[] {
  const match = /^(\s*(?:- )?)("(?:[^"\\]|\\.)*"|[A-Za-z_][\w.-]*)(:)(.*)$/.exec(text);
  if (!match) return [text || ' '];
  return [match[1]!, h('span', { class: 'key' }, match[2]!), match[3]!, h('span', { class: 'val' }, match[4]!)];
}

function drawDocument(view: DocumentView, document: ManifestDocument): void {
  view.fields = document.fields;
  const starts = new Map<number, string>();
  // The deepest field starting on a line is the one a click there means.
  for (const field of document.fields) if (!starts.has(field.line) || field.path.length > starts.get(field.line)!.length) starts.set(field.line, field.path);
  view.stops = [...starts.keys()].sort((a, b) => a - b);
  const text = document.text.replace(/\n$/, '');
  view.lines = text.split('\n').map((line, index) => {
    const path = starts.get(index);
    const element = h('div', { class: path ? 'line field' : 'line', id: `${view.side}-line-${index}`, 'data-line': index, 'data-path': path, role: path ? 'option' : undefined, 'aria-selected': path ? 'false' : undefined }, ...lineContent(line));
    if (path) element.addEventListener('click', () => selectLine(view, index));
    return element;
  });
  view.element.replaceChildren(...view.lines);
}

function selectLine(view: DocumentView, line: number): void {
  view.active = line;
  view.element.setAttribute('aria-activedescendant', `${view.side}-line-${line}`);
  view.element.focus({ preventScroll: true });
  view.lines[line]?.scrollIntoView({ block: 'nearest' });
  selectPath(view.side, view.lines[line]?.dataset.path ?? '');
}

/** ↑/↓ (and Home/End) move between fields inside a document; the selection follows. */
function onKey(view: DocumentView, event: KeyboardEvent): void {
  if (view.stops.length === 0) return;
  const position = view.active === null ? -1 : view.stops.indexOf(view.active);
  let next: number | null = null;
  if (event.key === 'ArrowDown') next = view.stops[Math.min(view.stops.length - 1, position + 1)]!;
  else if (event.key === 'ArrowUp') next = view.stops[Math.max(0, position - 1)]!;
  else if (event.key === 'Home') next = view.stops[0]!;
  else if (event.key === 'End') next = view.stops[view.stops.length - 1]!;
  else if ((event.key === 'Enter' || event.key === ' ') && view.active !== null) next = view.active;
  if (next === null) return;
  event.preventDefault();
  selectLine(view, next);
}
for (const side of SIDES) views[side].element.addEventListener('keydown', (event) => onKey(views[side], event));

// --- selecting ----------------------------------------------------------------------------------

function pathsOf(link: PageLink, side: Side): string[] {
  return side === 'config' ? link.jsonPaths : link.podPaths;
}

/** The link a path belongs to: the nearest ancestor-or-self that a link names, first link first. */
function linkFor(side: Side, path: string): PageLink | null {
  for (const candidate of pathAndAncestors(path)) {
    const link = links.find((entry) => pathsOf(entry, side).includes(candidate));
    if (link) return link;
  }
  return null;
}

function highlight(view: DocumentView, paths: string[]): HTMLElement | null {
  let first: HTMLElement | null = null;
  for (const line of view.lines) {
    line.classList.remove('highlight', 'selected');
    if (line.getAttribute('aria-selected') !== null) line.setAttribute('aria-selected', 'false');
  }
  for (const field of view.fields.filter((entry) => paths.includes(entry.path))) {
    for (let index = field.line; index <= field.endLine; index++) view.lines[index]?.classList.add('highlight');
    const start = view.lines[field.line];
    if (start) {
      start.classList.add('selected');
      start.setAttribute('aria-selected', 'true');
      if (!first || Number(start.dataset.line) < Number(first.dataset.line)) first = start;
    }
  }
  return first;
}

function selectPath(side: Side, path: string): void {
  const link = linkFor(side, path);
  selectedLink = link;
  savePageState({ ...state, selected: link?.id });
  if (!link) {
    highlight(views[side], [path]);
    highlight(views[OTHER[side]], []);
    drawKernel(null, `${path}: no counterpart is mapped for this field.`);
    return;
  }
  highlight(views[side], pathsOf(link, side));
  const counterpart = highlight(views[OTHER[side]], pathsOf(link, OTHER[side]));
  counterpart?.scrollIntoView({ block: 'center' });
  drawKernel(link, 'reading…');
  send({ type: 'select', linkId: link.id });
}

function selectLink(id: string): void {
  const link = links.find((entry) => entry.id === id);
  if (!link) return;
  const side: Side = link.jsonPaths.some((path) => views.config.fields.some((field) => field.path === path)) ? 'config' : 'pod';
  const path = pathsOf(link, side).find((candidate) => views[side].fields.some((field) => field.path === candidate));
  const field = views[side].fields.find((entry) => entry.path === path);
  if (field) selectLine(views[side], field.line);
}

// --- the kernel object --------------------------------------------------------------------------

function fact(name: string, field: string, value: string | number | null | undefined): HTMLElement | null {
  if (value === null || value === undefined) return null;
  return h('tr', {}, h('th', {}, name), h('td', { class: 'mono', 'data-field': field }, String(value)));
}

function kernelRows(kernel: KernelObject): (HTMLElement | null)[] {
  switch (kernel.kind) {
    case 'namespace':
      return [
        fact('namespace', 'type', kernel.type),
        fact('inode', 'inode', kernel.inode ?? '– (not running)'),
        fact('file', 'file', kernel.file),
        fact('owner', 'shared', kernel.sharedWithHost ? 'shared with the host' : 'the container\'s own'),
        fact('detail', 'detail', kernel.detail),
      ];
    case 'cgroup':
      return [fact('controller', 'limit', kernel.limit), fact('file', 'file', kernel.file ?? 'no such controller here'), fact('value', 'value', kernel.value), fact('meaning', 'meaning', kernel.meaning)];
    case 'uts':
      return [fact('hostname', 'value', kernel.value ?? '–'), fact('namespace', 'file', kernel.file), fact('inode', 'inode', kernel.inode ?? '–')];
    case 'process':
      return [fact('process', 'pid', kernel.pid ?? '– (not running)'), fact('file', 'file', kernel.file), fact('value', 'value', kernel.value ?? '(the record does not read this file)')];
    case 'mount':
      return [fact('mount', 'target', kernel.target), fact('file', 'file', kernel.file), fact('value', 'value', kernel.value ?? '– (not mounted now)')];
    case 'devices':
      return [
        fact('enforced by', 'mechanisms', kernel.mechanisms.map((mechanism) => (mechanism === 'ebpf' ? 'an eBPF program (cgroup v2)' : 'devices.list (cgroup v1)')).join(' and ') || 'nothing on this host'),
        fact('devices.list', 'file', kernel.listFile),
        kernel.listFile ? fact('it says', 'list', kernel.list ? kernel.list.join('\n') : '– (the cgroup is gone)') : null,
        fact('cgroup v2', 'program-directory', kernel.programDirectory),
        kernel.programDirectory ? fact('BPF programs', 'programs', kernel.programs ? (kernel.programs.length ? kernel.programs.map((id) => `id ${id} (bpftool prog dump xlated id ${id})`).join('\n') : 'none attached') : '– (the cgroup is gone)') : null,
        fact('rules', 'rules', kernel.rules.join('\n')),
      ];
    case 'keyring':
      return [
        fact('file', 'file', kernel.file),
        fact('looked for', 'name', kernel.name),
        fact('the kernel lists it', 'own', kernel.own === null ? '– (not running)' : kernel.own ? 'yes: a session keyring of its own' : 'no: the processes are in the caller\'s (host root\'s) session keyring'),
      ];
  }
}

function drawKernel(link: PageLink | null, message: string | null, kernel?: KernelObject | null, readAt?: string): void {
  kernelPanel.dataset.link = link?.id ?? '';
  kernelPanel.dataset.kind = kernel?.kind ?? '';
  const heading = h('h2', {}, link ? link.label : 'Kernel object');
  const note = link ? h('p', { class: 'note' }, link.note) : null;
  let body: (Node | null)[];
  if (kernel) body = [h('table', { class: 'grid' }, h('tbody', {}, ...kernelRows(kernel).filter((row): row is HTMLElement => row !== null))), readAt ? h('p', { class: 'muted' }, `read from the kernel at ${new Date(readAt).toLocaleTimeString()}`) : null];
  else if (kernel === null && link) body = [h('p', { class: 'muted' }, link.hasKernel ? 'The container is not running: no kernel object now.' : 'No kernel object: this field is bookkeeping, not something the kernel holds.')];
  else body = [h('p', { class: 'muted' }, message ?? '')];
  kernelPanel.replaceChildren(...[heading, note, ...body].filter((node): node is Node => node !== null));
}

// --- messages -----------------------------------------------------------------------------------

function setStatus(text: string): void {
  status.textContent = text;
  status.className = `badge status-${text}`;
  document.body.dataset.status = text;
}

onExtensionMessage<ToPage>((message) => {
  switch (message.type) {
    case 'documents':
      links = message.links;
      setStatus(message.status);
      drawDocument(views.config, message.config);
      drawDocument(views.pod, message.pod);
      drawImage(message.image);
      document.body.dataset.ready = 'true';
      if (state.selected) selectLink(state.selected);
      break;
    case 'kernel':
      if (selectedLink?.id === message.linkId) drawKernel(selectedLink, null, message.kernel, message.readAt);
      break;
    case 'status':
      setStatus(message.status);
      banner.hidden = message.status !== 'removed';
      banner.textContent = message.status === 'removed' ? `${state.name} was removed: the documents remain, the kernel objects are gone.` : '';
      break;
    case 'error':
      banner.hidden = false;
      banner.textContent = message.message;
      break;
  }
});

send({ type: 'ready' });
