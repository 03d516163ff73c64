/*
 * The extension's entry point. activate() builds the pieces and wires them together:
 *
 *   connection (SSH or local socket → agent)        extension/connection/
 *        │ state, notifications, log lines
 *        ├─► status bar + Lab view                   which host, connected or not, what it runs
 *        ├─► container store → Containers view       list once, then container.changed/removed
 *        ├─► pod store → Pods view                   list once, then pod.changed/removed
 *        ├─► Networks view                           one snapshot, then link.changed
 *        └─► output channel
 *   commands (palette, view menus, inline actions)   extension/commands/
 *
 * Nothing polls the lab: after the first read everything follows the agent's notifications.
 * Every pane says the same about the connection: the state is one context key
 * (containersLab.state) that the views' welcome texts and the status bar follow.
 * The first start opens the sidebar and the walkthrough (walkthrough/first-start.ts).
 */
import * as vscode from 'vscode';
import type { AgentNotification, AgentNotifications } from '../agent/protocol';
import { ReconnectingLabConnection } from './connection/lab-connection';
import type { ConnectionState } from './connection/types';
import { askToTrustHostKey, connect, registerConnectionCommands } from './commands/connection';
import { registerContainerInfoCommands } from './commands/container-info';
import { registerContainerFileCommands } from './commands/container-files';
import { registerImageCommands } from './commands/images';
import { registerLifecycleCommands } from './commands/lifecycle';
import { registerApplyPodCommand } from './commands/apply-pod';
import { registerPodCommands } from './commands/pods';
import { registerOpenShellCommand } from './commands/open-shell';
import { registerOpenPortCommand } from './commands/open-port';
import { registerRefreshAndOutputCommands } from './commands/refresh-and-output';
import { registerShowLogsCommand } from './commands/show-logs';
import { registerStartBusyboxCommands } from './commands/start-busybox';
import { registerVmCommands } from './commands/vm';
import { GlobalStateHostKeyStore } from './host-key-store';
import { NotConnectedError, type Lab } from './lab';
import { LabOutput } from './output';
import { LabStatusBar } from './status-bar';
import { readTargetSettings } from './target/resolve-target';
import { ContainerStore } from './views/containers/container-store';
import { ContainersProvider } from './views/containers/containers-provider';
import { ImageStore } from './views/images/image-store';
import { ImagesProvider } from './views/images/images-provider';
import { PodStore } from './views/pods/pod-store';
import { PodsProvider } from './views/pods/pods-provider';
import { registerExercises } from './views/exercises/exercises-view';
import { registerHostView } from './views/host/host-view';
import { LabProvider } from './views/lab/lab-provider';
import { NetworksProvider } from './views/networks/networks-provider';
import { registerAnatomyWebview } from './webviews/anatomy/anatomy-panel';
import { registerManifestsWebview } from './webviews/manifests/manifests-panel';
import { registerTopologyWebview } from './webviews/topology/topology-panel';
import { greetOnFirstStart, openWalkthrough } from './walkthrough/first-start';

let activeLab: Lab | undefined;

export function activate(context: vscode.ExtensionContext): Lab {
  const output = new LabOutput();
  const hostKeys = new GlobalStateHostKeyStore(context.globalState);
  const connection = new ReconnectingLabConnection({
    // The agent bundle shipped inside the .vsix; uploaded to a lab host that lacks this build.
    bundleDir: context.asAbsolutePath('dist/agent'),
    hostKeys,
    promptHostKey: askToTrustHostKey,
    remote: { socketPath: readTargetSettings().socketPath },
  });

  const clientOrNull = () => (connection.state === 'connected' ? connection.client : null);
  const store = new ContainerStore(clientOrNull);
  const containers = new ContainersProvider(store);
  const imageStore = new ImageStore(clientOrNull);
  const images = new ImagesProvider(imageStore);
  const podStore = new PodStore(clientOrNull);
  const pods = new PodsProvider(podStore);
  const networks = new NetworksProvider(clientOrNull, (message, error) => output.error(message, error));
  const labView = new LabProvider(connection);
  const statusBar = new LabStatusBar();

  const lab: Lab = {
    context,
    connection,
    store,
    containers,
    networks,
    output,
    hostKeys,
    client() {
      const client = clientOrNull();
      if (!client) throw new NotConnectedError();
      return client;
    },
    ensureConnected: () => connect(lab),
    onNotification<N extends AgentNotification>(name: N, listener: (params: AgentNotifications[N]) => void): vscode.Disposable {
      const off = connection.on('notification', (method, params) => {
        if (method === name) listener(params as AgentNotifications[N]);
      });
      return { dispose: off };
    },
  };

  const containersView = vscode.window.createTreeView('containersLab.containers', { treeDataProvider: containers, showCollapseAll: true });
  containers.attach(containersView);
  const networksView = vscode.window.createTreeView('containersLab.networks', { treeDataProvider: networks, showCollapseAll: true });
  networks.attach(networksView);
  const labTreeView = vscode.window.createTreeView('containersLab.lab', { treeDataProvider: labView });
  const imagesView = vscode.window.createTreeView('containersLab.images', { treeDataProvider: images, showCollapseAll: true });
  images.attach(imagesView);
  const podsView = vscode.window.createTreeView('containersLab.pods', { treeDataProvider: pods, showCollapseAll: true });
  pods.attach(podsView);
  context.subscriptions.push(output, statusBar, containers, networks, labView, containersView, networksView, labTreeView, images, imagesView, pods, podsView);

  const onState = (state: ConnectionState, detail: string | undefined): void => {
    void vscode.commands.executeCommand('setContext', 'containersLab.connected', state === 'connected');
    void vscode.commands.executeCommand('setContext', 'containersLab.state', state);
    statusBar.update(connection.target, state, detail);
    labView.update(detail);
    // The lists stay while reconnecting (the containers keep running there): say why they may be stale.
    const reconnecting = state === 'reconnecting' ? `Reconnecting to ${connection.target?.label ?? 'the lab host'}… (containers keep running there)` : undefined;
    containersView.message = reconnecting;
    networksView.message = reconnecting;
    podsView.message = reconnecting;
    if (state === 'connected') {
      // A new link (first connect or reconnect): read the world once; notifications do the rest.
      store.load().catch((error: unknown) => output.error('container.list failed', error));
      imageStore.load().catch((error: unknown) => output.error('image.list failed', error));
      podStore.load().catch((error: unknown) => output.error('pod.list failed', error));
      networks.reload();
      // This node's peers (an agent older than `node` has none to show).
      lab.client().call('node.list', {}).then((nodes) => {
        networks.setNodes(nodes);
        labView.setNodes(nodes);
      }, () => undefined);
    } else if (state === 'disconnected' || state === 'failed') {
      store.clear();
      imageStore.clear();
      podStore.clear();
      networks.clear();
      labView.setNodes(null);
    }
  };
  void vscode.commands.executeCommand('setContext', 'containersLab.connected', false);
  void vscode.commands.executeCommand('setContext', 'containersLab.state', 'disconnected');

  const subscriptions = [
    connection.on('state', (state, detail) => {
      output.info(`connection: ${state}${detail ? ` (${detail})` : ''}`);
      onState(state, detail);
    }),
    connection.on('log', (line) => output.info(line)),
    connection.on('notification', (method, params) => {
      switch (method) {
        case 'container.changed': {
          const changed = params as AgentNotifications['container.changed'];
          store.handleChanged(changed);
          imageStore.containersChanged();
          networks.handleContainerChanged(changed);
          labView.containerChanged(changed.status, () => lab.client().call('agent.info', {}), (error) => output.error('agent.info failed', error));
          break;
        }
        case 'container.removed': {
          const removed = params as AgentNotifications['container.removed'];
          store.handleRemoved(removed);
          imageStore.containersChanged();
          networks.handleContainerRemoved(removed.name);
          break;
        }
        case 'image.changed':
          imageStore.load().catch((error: unknown) => output.error('image.list failed', error));
          break;
        case 'pod.changed':
          podStore.handleChanged(params as AgentNotifications['pod.changed']);
          break;
        case 'pod.removed':
          podStore.handleRemoved(params as AgentNotifications['pod.removed']);
          break;
        case 'link.changed':
          networks.handleLinkChanged(params as AgentNotifications['link.changed']);
          break;
        case 'node.changed':
          networks.setNodes(params as AgentNotifications['node.changed']);
          labView.setNodes(params as AgentNotifications['node.changed']);
          break;
      }
    }),
  ];
  context.subscriptions.push({ dispose: () => subscriptions.forEach((off) => off()) });

  registerConnectionCommands(lab);
  registerStartBusyboxCommands(lab);
  registerOpenShellCommand(lab);
  registerOpenPortCommand(lab);
  registerLifecycleCommands(lab);
  registerShowLogsCommand(lab);
  registerContainerInfoCommands(lab);
  registerImageCommands(lab, imageStore, images);
  registerApplyPodCommand(lab, pods);
  registerPodCommands(lab, podStore, pods);
  registerContainerFileCommands(lab);
  registerVmCommands(lab);
  registerAnatomyWebview(lab);
  registerManifestsWebview(lab);
  registerTopologyWebview(lab);
  const exercises = registerExercises(lab);
  registerHostView(lab);
  registerRefreshAndOutputCommands(lab, async () => {
    labView.setInfo(await lab.client().call('agent.info', {}));
    await imageStore.load();
    await podStore.load();
    await exercises.load(); // progress may have moved from the CLI (`containers-lab lab check`)
  });

  context.subscriptions.push(vscode.commands.registerCommand('containersLab.openWalkthrough', () => openWalkthrough(context)));

  output.info(`Containers Lab ${String(context.extension.packageJSON.version)} activated`);
  activeLab = lab;
  // The walkthrough first: VS Code starts watching its steps' events when it opens, and a step
  // whose event came before that (containersLab.connected) would never be checked.
  const greeted = greetOnFirstStart(context, (line) => output.info(line)).catch((error: unknown) => output.error('opening the walkthrough failed ("Containers Lab: Get Started" opens it)', error));
  // scripts/lab opens VS Code on a lab it has just started: connect without being asked.
  if (vscode.workspace.getConfiguration('containersLab').get<boolean>('connectOnStartup', false)) {
    void greeted.then(() => {
      output.info('containersLab.connectOnStartup: connecting');
      return connect(lab).catch((error: unknown) => output.error('connecting on startup failed (the extension tries again by itself; "Containers Lab: Connect" tries at once)', error));
    });
  }
  return lab;
}

export async function deactivate(): Promise<void> {
  // Containers keep running on the lab host; only the link is closed.
  await activeLab?.connection.disconnect();
  activeLab = undefined;
}
