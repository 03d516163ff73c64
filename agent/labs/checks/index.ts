/*
 * Every kind of check, by the name lab files use. Each runs in the agent against the kernel's own
 * state; see the file of each kind for what exactly it reads. Some read configuration the kernel
 * holds (a cgroup file, a capability set); the behaviour kinds (command, http, init-step,
 * written-by, reachable, cross-node) make the kernel show what it does.
 */
import type { CheckKind, CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { checkCapabilities } from './capabilities';
import { checkCgroupEvents } from './cgroup-events';
import { checkCgroupLimit } from './cgroup-limit';
import { checkCommand } from './command';
import { checkContainer } from './container';
import { checkFile } from './file';
import { checkFileLayer } from './file-layer';
import { checkHostname } from './hostname';
import { checkHttp } from './http';
import { checkInitStep } from './init-step';
import { checkInterface } from './interface';
import { checkListening } from './listening';
import { checkMount } from './mount';
import { checkNamespaces } from './namespaces';
import { checkOpaqueDir } from './opaque-dir';
import { checkOverlayLowers } from './overlay-lowers';
import { checkProcessTree } from './process-tree';
import { checkReachable } from './reachable';
import { checkRoute } from './route';
import { checkUidMap } from './uid-map';
import { checkUnchanged } from './unchanged';
import { checkUser } from './user';
import { checkWrittenBy } from './written-by';
import { checkCpuShare } from './cpu-share';
import { checkFreezer } from './freezer';
import { checkNetns } from './netns';
import { checkHostProcess } from './host-process';
import { checkTrace } from './trace';
import { checkHostHttp } from './host-http';
import { checkPod } from './pod';
import { checkQos } from './qos';
import { checkProbe } from './probe';
import { checkRegistryImage } from './registry-image';
import { checkContainerdTask } from './containerd-task';
import { checkCrossNode } from './cross-node';
import { checkNodeRoute } from './node-route';
import { checkNodeSysctl } from './node-sysctl';
import { checkNodeFdb } from './node-fdb';

type CheckRunner<K extends CheckKind> = (params: CheckParamsByKind[K], context: LabContext) => void | Promise<void>;

export const CHECKS: { [K in CheckKind]: CheckRunner<K> } = {
  container: checkContainer,
  namespaces: checkNamespaces,
  hostname: checkHostname,
  'uid-map': checkUidMap,
  user: checkUser,
  'cgroup-limit': checkCgroupLimit,
  'cgroup-events': checkCgroupEvents,
  mount: checkMount,
  'file-layer': checkFileLayer,
  file: checkFile,
  interface: checkInterface,
  route: checkRoute,
  reachable: checkReachable,
  'process-tree': checkProcessTree,
  capabilities: checkCapabilities,
  unchanged: checkUnchanged,
  command: checkCommand,
  http: checkHttp,
  listening: checkListening,
  'init-step': checkInitStep,
  'written-by': checkWrittenBy,
  'overlay-lowers': checkOverlayLowers,
  'opaque-dir': checkOpaqueDir,
  'cpu-share': checkCpuShare,
  freezer: checkFreezer,
  netns: checkNetns,
  'host-process': checkHostProcess,
  trace: checkTrace,
  'host-http': checkHostHttp,
  pod: checkPod,
  qos: checkQos,
  probe: checkProbe,
  'registry-image': checkRegistryImage,
  'containerd-task': checkContainerdTask,
  'cross-node': checkCrossNode,
  'node-route': checkNodeRoute,
  'node-sysctl': checkNodeSysctl,
  'node-fdb': checkNodeFdb,
};

export { CheckFailed } from './outcome';
