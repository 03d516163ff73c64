/*
 * The Manifests page for a pod: the Pod YAML on the left — what was applied, with what the kubelet
 * added (uid, nodeName, status) — and on the right the pod's containers, init containers first,
 * one tab each: the config.json the runtime realised for it, and the cgroup it is in (the path in
 * each hierarchy, below the pod's own cgroup kubepods/…/pod<uid>). The YAML is one document; the
 * containers are what a kubelet made of it.
 *
 * Keyboard: Tab reaches the YAML, the container tabs (←/→, Home/End move between them, as in any
 * tab list) and the selected container's documents; every scrolling block is focusable.
 */
import { h, onExtensionMessage, postToExtension, readInitialState, savePageState } from '../../shared/view/vscode-api';
import type { FromPage, PodManifestsState, ToPage } from '../messages';
import type { CgroupPaths, PodContainerManifest, PodManifests } from '../pod-manifests';

const state = readInitialState<PodManifestsState & { selected?: string }>() ?? { pod: '' };
savePageState(state);
let selected = state.selected ?? null;
let current: PodManifests | null = null;

const app = document.getElementById('app')!;
const phase = h('span', { class: 'badge', id: 'status', 'aria-live': 'polite' }, '…');
const facts = h('p', { class: 'muted', id: 'pod-facts' });
const banner = h('div', { id: 'banner', role: 'status', hidden: true });
const yaml = h('pre', { class: 'document', id: 'pod-yaml', tabindex: 0, 'aria-label': 'Pod YAML' });
const tabs = h('div', { id: 'container-tabs', role: 'tablist', 'aria-label': 'Containers of the pod' });
const panel = h('div', { id: 'container-panel', role: 'tabpanel', tabindex: -1 });
const sandbox = h('section', { id: 'sandbox-cgroup', 'aria-label': 'The sandbox' });
app.append(
  h('header', {}, h('div', { class: 'title-row' }, h('h1', {}, `pod/${state.pod}`), phase), facts,
    h('p', { class: 'muted' }, 'One Pod YAML; what the kubelet made of it: a config.json per container, each container in a cgroup under the pod\'s own.')),
  banner,
  h('div', { class: 'columns' },
    h('section', { class: 'column', 'aria-label': 'Pod YAML' }, h('div', { class: 'column-head' }, h('h2', {}, 'Pod YAML (get pod -o yaml)')), yaml),
    h('section', { class: 'column', 'aria-label': 'Containers' }, h('div', { class: 'column-head' }, h('h2', {}, 'Containers: config.json and cgroup')), tabs, panel)),
  sandbox,
);

function cgroupTable(cgroup: CgroupPaths | null, id: string): HTMLElement {
  if (!cgroup) return h('p', { class: 'muted', id }, 'No cgroup now (the container is not made yet, or gone).');
  return h('table', { class: 'grid', id },
    h('tbody', {},
      h('tr', {}, h('th', {}, `cgroup v${cgroup.version} path`), h('td', { class: 'mono', 'data-field': 'path' }, cgroup.path)),
      ...cgroup.directories.map(({ controller, directory }) =>
        h('tr', {}, h('th', {}, controller), h('td', { class: 'mono', 'data-controller': controller }, directory)))));
}

function drawPanel(container: PodContainerManifest | undefined): void {
  if (!container) {
    panel.replaceChildren(h('p', { class: 'muted' }, 'This pod has no containers.'));
    return;
  }
  panel.setAttribute('aria-labelledby', `tab-${container.name}`);
  panel.dataset.container = container.name;
  panel.replaceChildren(
    h('p', {}, h('strong', {}, container.init ? `init container ${container.name}` : `container ${container.name}`), ` — ${container.state}, ${container.restartCount} restart${container.restartCount === 1 ? '' : 's'}`,
      container.runtimeName ? h('span', { class: 'muted' }, ` · runtime container ${container.runtimeName}`) : null),
    h('h3', {}, 'cgroup'),
    cgroupTable(container.cgroup, 'cgroup-paths'),
    h('h3', {}, 'config.json (OCI runtime spec)'),
    container.config === null
      ? h('p', { class: 'muted', id: 'config-json' }, 'Not made yet: the kubelet makes it when the container starts.')
      : h('pre', { class: 'document', id: 'config-json', tabindex: 0, 'aria-label': `config.json of ${container.name}` }, container.config),
  );
}

function select(name: string, focus: boolean): void {
  selected = name;
  savePageState({ ...state, selected: name });
  for (const tab of tabs.querySelectorAll<HTMLButtonElement>('[role="tab"]')) {
    const on = tab.dataset.container === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
  }
  drawPanel(current?.containers.find((container) => container.name === name));
}

/** ←/→/Home/End move between the tabs (WAI-ARIA tabs pattern); Enter/Space select too (buttons). */
tabs.addEventListener('keydown', (event) => {
  const names = current?.containers.map((container) => container.name) ?? [];
  const at = names.indexOf(selected ?? '');
  let next: number | null = null;
  if (event.key === 'ArrowRight') next = (at + 1) % names.length;
  else if (event.key === 'ArrowLeft') next = (at - 1 + names.length) % names.length;
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = names.length - 1;
  if (next === null || names.length === 0) return;
  event.preventDefault();
  select(names[next]!, true);
});

function draw(manifests: PodManifests): void {
  current = manifests;
  phase.textContent = manifests.phase;
  phase.className = `badge status-${manifests.phase.toLowerCase()}`;
  facts.textContent = `QoS class ${manifests.qosClass} · pod cgroup ${manifests.cgroupParent}`;
  yaml.textContent = manifests.podYaml;
  const hadFocus = tabs.contains(document.activeElement);
  tabs.replaceChildren(...manifests.containers.map((container) => {
    const tab = h('button', { type: 'button', role: 'tab', class: 'secondary', id: `tab-${container.name}`, 'data-container': container.name, 'aria-controls': 'container-panel' },
      container.init ? `init: ${container.name}` : container.name);
    tab.addEventListener('click', () => select(container.name, false));
    return tab;
  }));
  sandbox.replaceChildren(h('h2', {}, manifests.sandbox ? `Sandbox ${manifests.sandbox.name}: holds the shared namespaces` : 'Sandbox: none now'),
    manifests.sandbox ? cgroupTable(manifests.sandbox.cgroup, 'sandbox-cgroup-paths') : h('p', { class: 'muted' }, 'The pod has no sandbox (deleted, or not made yet).'));
  const keep = manifests.containers.some((container) => container.name === selected) ? selected! : manifests.containers[0]?.name;
  if (keep !== undefined) select(keep, hadFocus);
  else drawPanel(undefined);
  document.body.dataset.ready = 'true';
}

onExtensionMessage<ToPage>((message) => {
  switch (message.type) {
    case 'pod-documents':
      banner.hidden = true;
      draw(message.manifests);
      break;
    case 'pod-removed':
      banner.hidden = false;
      banner.textContent = `pod/${state.pod} was deleted: the documents remain, its containers and cgroups are gone.`;
      phase.textContent = 'deleted';
      break;
    case 'error':
      banner.hidden = false;
      banner.textContent = message.message;
      break;
    default:
      break;
  }
});

postToExtension<FromPage>({ type: 'ready' });
