/*
 * The Container Anatomy page: one container, taken apart into the kernel objects it is made of,
 * drawn as layers from the process down to the network:
 *
 *   Processes    the process tree, each with its PID inside the container and on the host
 *   Namespaces   the seven namespaces and their inodes (shared-with-host ones marked)
 *   Cgroup       every limit with the file it lives in, and live memory / CPU / pids charts
 *   Security     capabilities, seccomp, device rules, keyring, no_new_privs, pids limit — each with
 *                a "Try without" button that starts a copy with that protection switched
 *   Filesystem   the overlay's lower/upper/work/merged directories, and which layer a path is from
 *   Mounts       what /proc/<pid>/mountinfo lists
 *   Network      the container's interface, its address, the veth's host end and the bridge
 *
 * The extension sends a fresh record about once a second while the panel is visible; each section
 * is redrawn only when its own data changed, so focus and scroll stay where the learner left them.
 * Once the container is removed the page keeps its last record (saved with the page's state, so a
 * window reload still shows it) under "What is shown is how it was".
 */
import type { ContainerRecord, PathLayer } from '../../../../agent/protocol';
import { buildProcessTree, formatBytes, formatCpuTime, namespaceRows, type ProcessTreeNode } from '../../../views/containers/model';
import { h, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import { cgroupLimitFiles } from '../cgroup-limits';
import type { AnatomyState, FromPage, ToPage } from '../messages';
import type { UsageSample } from '../usage-history';
import { areaChart } from './chart';
import { securitySection } from './security-section';
import { answerLayerText, layerStack } from './layer-stack';

const HISTORY_CAPACITY = 60;
/** What the page keeps across reloads: the path asked about, and a removed container's last record. */
type PageState = AnatomyState & { path?: string; removed?: { record?: ContainerRecord; history?: UsageSample[] } };
const state = readInitialState<PageState>() ?? { id: '', name: '' };
savePageState(state);
const send = (message: FromPage): void => postToExtension(message);

// --- page skeleton ------------------------------------------------------------------------------

const app = document.getElementById('app')!;
const title = h('h1', {}, state.name || 'Container');
const status = h('span', { class: 'badge', id: 'status', 'aria-live': 'polite' }, '…');
const identity = h('p', { class: 'muted mono', id: 'identity' });
const banner = h('div', { id: 'banner', role: 'status', hidden: true });
const manifestsButton = h('button', { type: 'button', class: 'secondary', id: 'open-manifests' }, 'Open Manifests');
manifestsButton.addEventListener('click', () => send({ type: 'openManifests' }));
const header = h('header', {}, h('div', { class: 'title-row' }, title, status, manifestsButton), identity);
app.append(header, banner);
// The header stays on top while the page scrolls: keep whatever gets focus or is scrolled to below it.
new ResizeObserver(() => document.documentElement.style.setProperty('--header-height', `${header.offsetHeight}px`)).observe(header);

interface Section {
  body: HTMLElement;
  /** JSON of the data last drawn, so an unchanged section is left alone. */
  drawn?: string;
}

function section(id: string, heading: string, explanation: string): Section {
  const body = h('div', { class: 'layer-body' });
  app.append(h('section', { class: `layer layer-${id}`, id, 'aria-labelledby': `${id}-heading` }, h('h2', { id: `${id}-heading` }, heading), h('p', { class: 'muted explain' }, explanation), body));
  return { body };
}

const sections = {
  processes: section('processes', 'Processes', 'A PID namespace numbers its processes from 1; the host numbers the same processes its own way.'),
  namespaces: section('namespaces', 'Namespaces', 'Two processes share a namespace exactly when /proc/<pid>/ns/<type> has the same inode.'),
  cgroup: section('cgroup', 'Cgroup', 'Limits are numbers in files; the kernel enforces them for every process in the group.'),
  security: section('security', 'Security', 'What root inside may do: capabilities and a seccomp filter on its processes, device rules on its cgroup, a keyring of its own — separate kernel mechanisms, each of which can be switched off on its own to see what it held back.'),
  filesystem: section('filesystem', 'Filesystem (overlay)', 'The image is the read-only lower layer; every write lands in the upper layer, copying a file up first.'),
  mounts: section('mounts', 'Mounts', 'What the container\'s mount namespace holds (/proc/<pid>/mountinfo).'),
  network: section('network', 'Network', 'A veth pair is a cable: one end in the container\'s network namespace, the other on the host\'s bridge.'),
};

/** Replaces a section's content when (and only when) its data changed. */
function update(target: Section, data: unknown, draw: () => (Node | string)[]): void {
  const key = JSON.stringify(data);
  if (target.drawn === key) return;
  target.drawn = key;
  target.body.replaceChildren(...draw());
}

// --- processes ----------------------------------------------------------------------------------

function processList(nodes: ProcessTreeNode[]): HTMLUListElement {
  return h(
    'ul',
    { class: 'process-tree', role: 'group' },
    ...nodes.map(({ process, children }) =>
      h(
        'li',
        { 'data-pid': process.pid, 'data-nspid': process.nspid, role: 'treeitem', 'aria-expanded': children.length > 0 ? 'true' : undefined },
        h('span', { class: 'pid-pair' }, h('span', { class: 'pid-inside', title: 'PID inside the container' }, `PID ${process.nspid}`), h('span', { class: 'muted' }, ' ↔ '), h('span', { class: 'pid-host', title: 'PID on the host' }, `host ${process.pid}`)),
        ' ',
        h('code', {}, process.command),
        h('span', { class: 'muted' }, ` · ${process.state}`),
        children.length > 0 ? processList(children) : null,
      ),
    ),
  );
}

function drawProcesses(record: ContainerRecord): void {
  update(sections.processes, record.processes, () => {
    if (record.processes.length === 0) return [h('p', { class: 'muted' }, 'No processes: the container is not running.')];
    const tree = processList(buildProcessTree(record.processes));
    tree.setAttribute('role', 'tree');
    tree.setAttribute('aria-label', 'process tree');
    return [tree];
  });
}

// --- namespaces ---------------------------------------------------------------------------------

function drawNamespaces(record: ContainerRecord): void {
  const rows = namespaceRows(record);
  update(sections.namespaces, { rows, pid: record.pid }, () => [
    h(
      'table',
      { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'type'), h('th', {}, 'inode'), h('th', {}, ''), h('th', {}, 'file'))),
      h(
        'tbody',
        {},
        ...rows.map((row) =>
          h(
            'tr',
            { 'data-ns': row.type, 'data-shared': row.shared ? 'true' : 'false', class: row.shared ? 'shared' : '' },
            h('td', {}, h('strong', {}, row.type)),
            h('td', { class: 'inode mono' }, row.inode === null ? '–' : String(row.inode)),
            h('td', {}, h('span', { class: row.shared ? 'badge shared-badge' : 'badge' }, row.shared ? 'shared with host' : row.description)),
            h('td', { class: 'mono muted' }, `/proc/${record.pid ?? '<pid>'}/ns/${row.type}`),
          ),
        ),
      ),
    ),
  ]);
}

// --- cgroup -------------------------------------------------------------------------------------

const charts = {
  memory: h('figure', { class: 'chart-box', 'data-chart': 'memory' }),
  cpu: h('figure', { class: 'chart-box', 'data-chart': 'cpu' }),
  pids: h('figure', { class: 'chart-box', 'data-chart': 'pids' }),
};
const cgroupTable = h('div', {});
sections.cgroup.body.append(cgroupTable, h('div', { class: 'charts' }, charts.memory, charts.cpu, charts.pids));

function drawChart(figure: HTMLElement, caption: string, values: (number | null)[], limit: number | null, latest: string, markers: number[] = []): void {
  const last = [...values].reverse().find((value) => value !== null) ?? null;
  figure.setAttribute('data-latest', last === null ? '' : String(last));
  figure.setAttribute('data-samples', String(values.length));
  figure.replaceChildren(
    h('figcaption', {}, h('strong', {}, caption), ' ', h('span', { class: 'chart-value' }, latest)),
    areaChart({ values, capacity: HISTORY_CAPACITY, limit, markers, label: `${caption}: ${latest}` }),
  );
}

function drawCgroup(record: ContainerRecord, history: UsageSample[]): void {
  const cgroup = record.cgroup;
  // The table is redrawn when the cgroup's description changes, the charts on every sample.
  const limitFiles = cgroup ? cgroupLimitFiles(cgroup) : [];
  const tableKey = JSON.stringify({ cgroup: cgroup && { ...cgroup, usage: null }, limitFiles });
  if (cgroupTable.dataset.drawn !== tableKey) {
    cgroupTable.dataset.drawn = tableKey;
    cgroupTable.replaceChildren(
      ...(cgroup
        ? [
            h('p', {}, h('span', { class: 'badge' }, `cgroup v${cgroup.version}`), ' ', h('code', { id: 'cgroup-path' }, cgroup.path)),
            h(
              'table',
              { class: 'grid' },
              h('thead', {}, h('tr', {}, h('th', {}, 'limit'), h('th', {}, 'file'), h('th', {}, 'value'), h('th', {}, ''))),
              h(
                'tbody',
                {},
                ...limitFiles.map((limit) =>
                  h('tr', { 'data-limit': limit.name }, h('td', {}, h('strong', {}, limit.name)), h('td', { class: 'file mono' }, limit.file ?? 'no such controller'), h('td', { class: 'value mono' }, limit.value), h('td', { class: 'muted' }, limit.meaning)),
                ),
              ),
            ),
          ]
        : [h('p', { class: 'muted' }, 'No cgroup: the container is not running.')]),
    );
  }
  const usage = cgroup?.usage;
  const limits = cgroup?.limits;
  const oomMarkers = history.flatMap((sample, index) => (sample.oomEvent ? [index] : []));
  const memoryLimit = limits?.memoryBytes ?? null;
  drawChart(
    charts.memory,
    'memory',
    history.map((sample) => sample.memoryBytes),
    memoryLimit,
    usage ? `${formatBytes(usage.memoryCurrentBytes)}${memoryLimit !== null ? ` of ${formatBytes(memoryLimit)}` : ''}${usage.oomKills > 0 ? ` · ${usage.oomKills} OOM kill${usage.oomKills === 1 ? '' : 's'}` : ''}` : '–',
    oomMarkers,
  );
  charts.memory.setAttribute('data-oom-kills', String(usage?.oomKills ?? 0));
  const cpuLimit = limits && limits.cpuQuotaUs !== null ? limits.cpuQuotaUs / limits.cpuPeriodUs : null;
  const lastRate = [...history].reverse().find((sample) => sample.cpuRate !== null)?.cpuRate ?? null;
  drawChart(
    charts.cpu,
    'cpu',
    history.map((sample) => sample.cpuRate),
    cpuLimit,
    usage ? `${lastRate === null ? '–' : `${(lastRate * 100).toFixed(1)}% of a CPU`}${cpuLimit !== null ? ` (limit ${cpuLimit} CPU)` : ''} · total ${formatCpuTime(usage.cpuUsageNs)}` : '–',
  );
  drawChart(charts.pids, 'pids', history.map((sample) => sample.pids), limits?.pids ?? null, usage ? `${usage.pidsCurrent}${limits?.pids != null ? ` of ${limits.pids}` : ''}` : '–');
}

// --- security -------------------------------------------------------------------------------------

const security = securitySection(sections.security.body, (protection) => {
  security.setEnabled(false);
  send({ type: 'tryWithout', protection });
});

// --- filesystem: overlay and "which layer is this path from?" -----------------------------------

const overlayTable = h('div', {});
const stack = layerStack();
const pathInput = h('input', { type: 'text', id: 'path-input', value: state.path ?? '/etc/passwd', 'aria-label': 'Path inside the container', spellcheck: 'false', size: 32 });
const pathButton = h('button', { type: 'submit', id: 'path-ask' }, 'Which layer?');
const pathResult = h('div', { id: 'path-result', 'aria-live': 'polite' });
const pathForm = h('form', { class: 'path-form' }, h('label', { for: 'path-input' }, 'Which layer does this path come from? '), pathInput, ' ', pathButton);
sections.filesystem.body.append(overlayTable, stack.element, pathForm, pathResult);

/** The path last asked about; re-asked with each record so a write's copy-up shows without a click. */
let askedPath: string | null = state.path ?? null;
let lastAnswer: PathLayer | null = null;
/** When the asked path went from the lower to the upper layer while we watched. */
let copiedUpAt = 0;

pathForm.addEventListener('submit', (event) => {
  event.preventDefault();
  askedPath = pathInput.value.trim();
  lastAnswer = null;
  savePageState({ ...state, path: askedPath });
  send({ type: 'pathLayer', path: askedPath });
});

const LAYER_TEXT: Record<PathLayer['layer'], string> = {
  upper: 'upper layer: this container wrote it',
  lower: 'lower layer: still the image\'s file',
  deleted: 'deleted: a whiteout in the upper layer hides the image\'s file',
  absent: 'absent: in no layer',
};

function drawPathLayer(result: PathLayer): void {
  if (lastAnswer !== null && lastAnswer.path === result.path && lastAnswer.layer === 'lower' && result.layer === 'upper') copiedUpAt = Date.now();
  else if (lastAnswer?.path !== result.path) copiedUpAt = 0;
  const copiedUpNow = result.layer === 'upper' && Date.now() - copiedUpAt < 10_000;
  lastAnswer = result;
  pathResult.dataset.layer = result.layer;
  pathResult.dataset.copiedUp = String(result.copiedUp === true);
  pathResult.dataset.path = result.path;
  stack.mark(result);
  const which = answerLayerText(result);
  pathResult.replaceChildren(
    h('p', {}, h('code', {}, result.path), ' — ', h('strong', { class: `layer-name layer-${result.layer}` }, LAYER_TEXT[result.layer]), result.copiedUp ? h('span', { class: 'badge copied-up' }, copiedUpNow ? 'copied up just now' : 'copied up') : null),
    h('p', { class: 'which-layer' }, which ?? ''),
    h(
      'table',
      { class: 'grid' },
      h('tbody', {}, h('tr', {}, h('th', {}, 'upper'), h('td', { class: 'mono' }, result.upperPath)), result.lowerPath ? h('tr', {}, h('th', {}, 'lower'), h('td', { class: 'mono' }, result.lowerPath)) : null, result.size !== null ? h('tr', {}, h('th', {}, 'size'), h('td', {}, `${result.size} bytes`)) : null),
    ),
  );
}

function drawFilesystem(record: ContainerRecord): void {
  const key = JSON.stringify(record.rootfs);
  if (overlayTable.dataset.drawn === key) return;
  overlayTable.dataset.drawn = key;
  if (!record.rootfs) {
    overlayTable.replaceChildren(h('p', { class: 'muted' }, 'No overlay: the container shares the host\'s mount namespace.'));
    pathForm.hidden = true;
    return;
  }
  pathForm.hidden = false;
  const { lower, upper, work, merged } = record.rootfs;
  const row = (name: string, path: string, meaning: string) => h('tr', { 'data-overlay': name }, h('th', {}, name), h('td', { class: 'mono' }, path), h('td', { class: 'muted' }, meaning));
  overlayTable.replaceChildren(
    h(
      'table',
      { class: 'grid overlay' },
      h('tbody', {}, row('merged', merged, 'the container\'s /'), row('upper', upper, 'writable: every change lands here'), ...lower.map((path, index) => row(lower.length > 1 ? `lower ${index}` : 'lower', path, 'read-only: the image')), row('work', work, 'overlayfs scratch space')),
    ),
  );
}

// --- mounts and network -------------------------------------------------------------------------

function drawMounts(record: ContainerRecord): void {
  update(sections.mounts, record.mounts, () => {
    if (record.mounts.length === 0) return [h('p', { class: 'muted' }, 'No mounts to show: the container is not running.')];
    return [
      h(
        'table',
        { class: 'grid mounts' },
        h('thead', {}, h('tr', {}, h('th', {}, 'target'), h('th', {}, 'type'), h('th', {}, 'source'), h('th', {}, 'options'))),
        h('tbody', {}, ...record.mounts.map((mount) => h('tr', { 'data-mount': mount.target }, h('td', { class: 'mono' }, mount.target), h('td', {}, mount.fstype), h('td', { class: 'mono' }, mount.source), h('td', { class: 'mono muted options' }, mount.options)))),
      ),
    ];
  });
}

function drawNetwork(record: ContainerRecord): void {
  const network = record.network;
  update(sections.network, { network, net: record.namespaces.net }, () => {
    const rows: [string, string][] = [['mode', network.mode]];
    if (network.mode === 'host') rows.push(['namespace', 'the host\'s (no network namespace of its own)']);
    if (network.mode === 'none') rows.push(['namespace', 'its own, with only lo']);
    if (network.ifname) rows.push(['interface', network.ifname]);
    if (network.ip) rows.push(['address', `${network.ip}${network.prefixLength !== null ? `/${network.prefixLength}` : ''}`]);
    if (network.mac) rows.push(['mac', network.mac]);
    if (network.gateway) rows.push(['gateway', network.gateway]);
    if (network.vethHost) rows.push(['veth host end', network.vethHost]);
    if (network.bridge) rows.push(['bridge', network.bridge]);
    if (record.namespaces.net !== undefined) rows.push(['net namespace', String(record.namespaces.net)]);
    return [h('table', { class: 'grid kv' }, h('tbody', {}, ...rows.map(([name, value]) => h('tr', { 'data-net': name }, h('th', {}, name), h('td', { class: 'mono' }, value)))))];
  });
}

// --- messages -----------------------------------------------------------------------------------

function showBanner(text: string | null, button?: { label: string; message: FromPage }): void {
  banner.hidden = text === null;
  banner.replaceChildren(...(text === null ? [] : [h('span', {}, text), button ? h('button', { type: 'button' }, button.label) : null].filter((node): node is HTMLElement => node !== null)));
  if (button) banner.querySelector('button')!.addEventListener('click', () => send(button.message));
}

function drawRecord(record: ContainerRecord, history: UsageSample[]): void {
  document.body.dataset.status = record.status;
  status.textContent = record.status;
  status.className = `badge status-${record.status}`;
  identity.textContent = `${record.id}${record.pid !== null ? ` · host PID ${record.pid}` : ''}${record.hostname ? ` · hostname ${record.hostname}` : ''}`;
  drawProcesses(record);
  drawNamespaces(record);
  drawCgroup(record, history);
  security.draw(record);
  drawFilesystem(record);
  drawMounts(record);
  drawNetwork(record);
  if (askedPath !== null && record.rootfs && !removed) send({ type: 'pathLayer', path: askedPath });
}

/** Set once the container is gone: from then on the page shows the past and asks nothing. */
let removed = false;

/** Gone: the last record stays on the page, marked as the past, and nothing can be asked of it any more. */
function showRemoved(name: string, last?: { record?: ContainerRecord; history?: UsageSample[] }): void {
  removed = true;
  if (last?.record) {
    drawRecord(last.record, last.history ?? []);
    state.removed = last;
    savePageState(state);
  }
  document.body.dataset.status = 'removed';
  status.textContent = 'removed';
  status.className = 'badge status-removed';
  security.setEnabled(false);
  manifestsButton.disabled = true; // its documents would have to be asked of the agent, which has forgotten it
  pathForm.hidden = true;
  showBanner(`${name} was removed: its namespaces, cgroup and overlay are gone. What is shown is how it was.`);
}

onExtensionMessage<ToPage>((message) => {
  switch (message.type) {
    case 'record':
      showBanner(null);
      drawRecord(message.record, message.history);
      break;
    case 'removed':
      showRemoved(message.name, message.record ? { record: message.record, ...(message.history ? { history: message.history } : {}) } : state.removed);
      break;
    case 'tryDone':
      if (!removed) security.setEnabled(true);
      break;
    case 'connection':
      if (removed) break; // nothing left to connect for
      if (!message.connected) showBanner('Not connected to the lab host.', { label: 'Connect', message: { type: 'connect' } });
      else showBanner(null);
      break;
    case 'pathLayer':
      if (askedPath !== null) drawPathLayer(message.result);
      break;
    case 'layers':
      stack.draw(message.layers);
      break;
    case 'pathLayerError':
      pathResult.dataset.layer = 'error';
      pathResult.replaceChildren(h('p', { class: 'error' }, message.message));
      askedPath = null;
      break;
  }
});

// A page revived after the container was removed: show how it was before asking for anything.
if (state.removed) showRemoved(state.name, state.removed);
send({ type: 'ready' });
