/*
 * create: everything up to, but not including, running the container's program.
 *
 *   1. write the record ("creating") and the config.json it realises
 *   2. prepare the overlay's directories and the cgroup with its limits and device rules
 *   3. clone the first process into its new namespaces (and into the ones it joins: a pod's
 *      containers share the sandbox's net, ipc and uts, and its pid with shareProcessNamespace);
 *      it waits at a checkpoint
 *   4. from outside: uid/gid maps, cgroup membership, network, config.json's mounts before /proc
 *   5. let it mount its /proc, then mount the rest (the kernel's list in config.json's order);
 *      run the prestart, createRuntime and createContainer hooks
 *      (../hooks.ts); then pivot_root (or, with noPivot, MS_MOVE and chroot), masked paths, hostname
 *   6. record "created" — the process now waits for `start` to execve the program
 *
 * If anything fails, the steps done so far are undone in reverse and the record removed, so a
 * failed create leaves nothing behind. If the agent itself dies here, the child dies with it
 * (parent-death signal) and the next agent finds the "creating" record and cleans up.
 */
import { statSync } from 'node:fs';
import type { NamespaceType, NetworkRecord, OciSpec } from '../../protocol';
import { ChildProgram } from '../../kernel/child-program';
import { CLONE_NEWCGROUP, O_APPEND, O_CREAT, O_RDONLY, O_WRONLY, SIGKILL } from '../../kernel/constants';
import { closeFd, duplicateFdAtOrAbove, openFile } from '../../kernel/files';
import { sethostname } from '../../kernel/namespaces';
import { reap, signalProcess } from '../../kernel/processes';
import { readMountinfo } from '../../inspect/mountinfo';
import { joinedNamespacesFromConfig, limitsFromConfig, namespacesFromConfig, networkModeFromConfig, sessionKeyringFromConfig, ANNOTATIONS } from '../../oci/from-run-options';
import { hostFacts, realisationPlan } from '../../oci/supported-fields';
import { configFieldError } from '../../oci/validate';
import { attachBridgeNetwork, detachNetwork, setupLoopback } from '../network';
import { checkPortsFree, portsFromConfig } from '../network/ports';
import { badInput } from '../../errors';
import { existsInStack } from '../../image/layer-files';
import { CLONE_FLAG, cloneFlagsFor, insideNamespaces, insideNamespacesAt, namespaceInodes } from '../namespaces';
import { createLayerDirectories, layersFor } from '../overlay';
import { idmapLowers, releaseUsernsLayers, usernsLayers, type UsernsLayers } from '../userns-layers';
import { Checkpoints } from '../process/checkpoints';
import { processStartTime } from '../process/exit-watcher';
import { appendLaunch, appendPrologue } from '../process/launch';
import { appendProcessSettings, needsOwnMemory, settleProcessSettings } from '../process/process-settings';
import { securityPlanFor } from '../process/security-plan';
import { sessionKeyringName } from '../process/session-keyring';
import { checkProgramInRoot, existsInLayers, resolveProgram } from '../process/resolve-program';
import { assembleRootfs, finishRootfs, makeWorkingDirectory, mountPhases, moveRootInto, pivotInto, PROC_MOUNT_FLAGS, restrictPaths } from '../rootfs';
import { applySysctls } from '../sysctl';
import { hookState, runHooks, warnOnStderr } from '../hooks';
import { hostIdFor, writeIdMaps } from '../user-namespace';
import type { ContainerState } from '../state/store';
import { deviceRulesFromConfig, type Cgroup } from '../cgroups';
import { applyResourceWrites } from '../cgroups/resource-files';
import type { ParkedProcess, RuntimeContext } from './context';
import { ExecSlots } from '../process/exec-slots';
import { MainTerminal, TERMINAL_STDIO } from '../process/main-terminal';
import { makeEmptyDirs } from './pod';
import { UndoStack } from '../undo';

/** The first process has mounted its /proc and waits for the agent to mount what follows it. */
export const PROC_MOUNTED = 'M';
/** Its process settings are in place (and its terminal taken): it waits to be let go to its launch. */
export const SETTLED = 'P';
const NAMESPACES_JOINED = 'J';

export interface CreateRequest {
  id: string;
  name: string;
  spec: OciSpec;
  /** The image's read-only layer. */
  imageLayer: string;
  /**
   * A pulled or imported image's layer directories, top first (overlayfs's lowerdir order): used
   * instead of `imageLayer`, shared by every container of the image (under a user namespace
   * idmapped, or shifted copies shared per mapping: ../userns-layers.ts).
   */
  imageLayers?: readonly string[];
  /** Write the "created" record (when it will wait for `start`; run starts it at once). */
  persistCreated: boolean;
  /** For a container that joins another's network namespace (a pod member): that network, as recorded. */
  joinedNetwork?: NetworkRecord;
  /**
   * An OCI bundle's own root filesystem (config.json's root.path, absolute), used as it is — bind
   * mounted onto itself and pivoted into — instead of an overlay over image layers (runc's way).
   */
  bundleRootfs?: string;
  /** The first process's stdio (descriptors the caller owns; the child gets copies) instead of /dev/null and the log. */
  stdio?: { stdin: number; stdout: number; stderr: number };
  /**
   * A FIFO opened read-write (../process/launch.ts LaunchPlan.execFifo): the first process,
   * released from its last checkpoint, stops outliving its creator and waits there for a byte.
   */
  execFifo?: number;
  /** With process.terminal: the unix socket the terminal's multiplexer is sent to (runc's --console-socket) instead of a keeper. */
  consoleSocket?: string;
  /**
   * runc's --no-pivot: the root's mount is moved over "/" and chrooted into instead of
   * pivot_root (../rootfs.ts moveRootInto says why that is weaker). Only with bundleRootfs.
   */
  noPivot?: boolean;
  /** Descriptors 3 … 3+N-1 of the caller that the program gets at the same numbers (runc's --preserve-fds). */
  preserveFds?: number;
  /** The OCI bundle's directory, as hooks are told it (default: the container's state directory). */
  bundle?: string;
}

/** A container made up to its last checkpoint: the parts whoever finishes it needs. */
export interface PreparedContainer {
  state: ContainerState;
  /** The config as recorded (root.path is the merged overlay). */
  spec: OciSpec;
  parked: ParkedProcess;
  cgroup: Cgroup;
}

/**
 * What the first process will execute: given now, or left to the exec slots that the agent
 * fills just before start (the warm pool prepares containers before the command is known).
 */
export type ExecChoice = 'from-spec' | 'slots-filled-later';

const noNetwork = (mode: NetworkRecord['mode']): NetworkRecord => ({
  mode, ifname: null, ip: null, prefixLength: null, gateway: null, mac: null, vethHost: null, bridge: null,
});

export function createContainer(context: RuntimeContext, request: CreateRequest): ContainerState {
  const { state, parked } = prepareContainer(context, request, 'from-spec');
  state.status = 'created';
  if (request.persistCreated) context.store.save(state);
  context.waiting.set(state.id, parked);
  return state;
}

/**
 * Steps 1–5: on return the first process waits at its last checkpoint, before chdir and execve.
 * The record on disk still says "creating" (an agent that dies now leaves it for the next one to
 * clean up); the caller decides what happens next.
 */
export function prepareContainer(context: RuntimeContext, request: Omit<CreateRequest, 'persistCreated'>, execChoice: ExecChoice): PreparedContainer {
  const { id, name, spec } = request;
  // Every field is applied or refused here, in one line, before anything exists (../../oci/supported-fields.ts).
  const plan = realisationPlan(spec, hostFacts(context.cgroups), context.unknownConfigFields);
  const namespaces = namespacesFromConfig(spec);
  const has = (type: NamespaceType): boolean => namespaces.includes(type);
  const joined = joinedNamespacesFromConfig(spec);
  // Checked before anything exists: a bad rule is a one-line error, not a half-made container.
  const devices = deviceRulesFromConfig(spec);
  const joins = (type: NamespaceType): boolean => joined.some((entry) => entry.type === type);
  const directory = context.store.directory(id);
  const rootOwner = has('user') ? hostIdFor(spec.linux?.uidMappings ?? [], 0) ?? 0 : 0;
  const bundle = request.bundleRootfs ?? null;
  if (bundle && !has('mnt')) throw configFieldError(['linux', 'namespaces'], 'has no mount namespace: a bundle\'s root filesystem needs one of its own');
  // Under a user namespace these may become shifted copies once the namespace exists (below).
  const lower = bundle ? [] : request.imageLayers ? [...request.imageLayers] : [request.imageLayer];
  const rootfs = has('mnt') && !bundle ? layersFor(directory, lower) : null;
  /** Where the container's root is mounted as the agent sees it (null: it shares the host's). */
  const root = bundle ?? rootfs?.merged ?? null;
  const networkMode = networkModeFromConfig(spec);
  // -p: a taken host port (or a bad annotation in a caller's own document) is refused here, before anything exists.
  const ports = portsFromConfig(spec);
  if (ports.length && (networkMode !== 'bridge' || joins('net'))) throw badInput('-p needs a container with a bridge network of its own');
  checkPortsFree(ports);
  const state: ContainerState = {
    id, name, status: 'creating', pid: null, pidStartTime: null, exitCode: null, oomKilled: false,
    createdAt: new Date().toISOString(), startedAt: null, finishedAt: null,
    image: spec.annotations?.[ANNOTATIONS.image] ?? 'busybox', hostname: spec.hostname ?? null,
    namespaces, rootfs, cgroup: null, network: noNetwork(networkMode), logPath: `${directory}/container.log`,
  };
  if (joins('net') && request.joinedNetwork) state.network = { ...request.joinedNetwork };
  else if (networkMode === 'bridge') state.network.bridge = bridgeOf(spec, context).bridge;
  const recordedSpec: OciSpec = { ...spec, root: { ...spec.root, path: root ?? '/' } };
  // Where the cgroup will be is recorded before it exists: an agent that dies from here on
  // leaves a record the next one can clean up completely.
  state.cgroup = context.cgroups.plan(id, plan.cgroup.at, plan.cgroup.required);
  // Fields accepted but not applied (kernel memory): said once, where runc says it (its log).
  for (const warning of [...plan.warnings, ...plan.cgroup.warnings]) (context.warn ?? warnOnStderr)(warning);
  context.store.create(state, recordedSpec);

  const undo = new UndoStack();
  undo.push(() => context.store.remove(id));
  const checkpoints = new Checkpoints();
  undo.push(() => checkpoints.close());
  const child = new ChildProgram();
  undo.push(() => child.release());
  try {
    if (rootfs) createLayerDirectories(rootfs, rootOwner);
    makeEmptyDirs(spec, context.stateRoot);
    const cgroup = context.cgroups.create(id, limitsFromConfig(spec), devices, plan.cgroup);
    undo.push(() => cgroup.destroy());
    state.cgroup = cgroup.record();
    applyResourceWrites(state.cgroup, plan.cgroup.writes);

    const processSpec = spec.process!;
    const env = processSpec.env ?? [];
    const exec = execChoice === 'slots-filled-later'
      ? new ExecSlots(child.arena)
      : {
        // An image's many layers are searched as overlayfs merges them (whiteouts, the image's own symlinks).
        path: resolveProgram(processSpec.args[0] ?? '', env, rootfs && request.imageLayers ? existsInStack(rootfs) : existsInLayers(bundle ? [bundle] : rootfs ? [rootfs.upper, ...rootfs.lower] : [''])),
        args: processSpec.args,
        env,
        cwd: processSpec.cwd,
      };
    // Descriptors the child inherits at clone; the agent closes its own copies right after.
    const forChild: number[] = [];
    undo.push(() => forChild.splice(0).forEach(closeFd));
    const handOver = (fd: number): number => {
      forChild.push(fd);
      return fd;
    };
    const given = request.stdio;
    const logFd = given ? -1 : handOver(openFile(state.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600));
    const nullFd = given ? -1 : handOver(openFile('/dev/null', O_RDONLY));
    // The caller's own descriptors may be close-on-exec (Node's 0-2 are): the child dup3s copies onto 0-2.
    const stdio = given
      ? { stdin: handOver(duplicateFdAtOrAbove(given.stdin, 3)), stdout: handOver(duplicateFdAtOrAbove(given.stdout, 3)), stderr: handOver(duplicateFdAtOrAbove(given.stderr, 3)), terminal: null }
      : { stdin: nullFd, stdout: logFd, stderr: logFd, terminal: null };
    // process.terminal: the first process's stdio is a terminal the agent makes (../process/main-terminal.ts).
    const terminal = MainTerminal.forSpec(spec, root);
    if (terminal) undo.push(() => terminal.close());

    appendPrologue(child);
    // Joining comes first: everything after (sysfs, mqueue, hostname) must see the joined namespaces.
    // A joined PID namespace is entered differently: the child is cloned into it (below).
    for (const { type, path } of joined.filter((entry) => entry.type !== 'pid')) {
      child.syscall('setns', handOver(openFile(path, O_RDONLY)), CLONE_FLAG[type]);
    }
    if (joined.length) checkpoints.report(child, NAMESPACES_JOINED);
    // The child moves itself into its cgroup while the agent sets up its network and rootfs:
    // a cgroup migration can wait out an RCU grace period in the kernel (milliseconds on v1),
    // and this way nobody waits for it. The descriptors were opened by the agent (as host root).
    const membership = cgroup.membershipFiles().map((file) => handOver(openFile(file, O_WRONLY)));
    for (const fd of membership) child.syscall('write', fd, child.arena.cString('0'), 1);
    checkpoints.awaitGo(child);
    // A cgroup namespace's root is the cgroup its creator is in at that moment: unshare only
    // after the agent has moved the child into the container's cgroup.
    if (has('cgroup')) child.syscall('unshare', CLONE_NEWCGROUP);
    const procMount = mountPhases(spec).proc;
    const mountsProc = root !== null && procMount !== null;
    if (mountsProc) {
      child.syscall('mount', 'proc', `${root}${procMount.destination}`, 'proc', PROC_MOUNT_FLAGS, null);
      // The agent mounts config.json's mounts after /proc meanwhile (and the container's /dev/pts the terminal below needs).
      checkpoints.report(child, PROC_MOUNTED);
      checkpoints.awaitGo(child);
    }
    // rlimits, umask, scheduler…: checked by the agent at the next checkpoint, while the child waits.
    appendProcessSettings(child, plan.process);
    terminal?.appendOpen(child);
    // --no-pivot: the first process stands in its root when the agent moves it over "/", and chroots to "." later.
    const noPivot = request.noPivot === true && bundle !== null;
    if (noPivot) child.syscall('chdir', bundle);
    checkpoints.report(child, SETTLED);
    checkpoints.awaitGo(child);
    appendLaunch(child, checkpoints, {
      exec,
      uid: processSpec.user.uid,
      gid: processSpec.user.gid,
      additionalGids: processSpec.user.additionalGids ?? [],
      ...(terminal ? TERMINAL_STDIO : stdio),
      ...(request.execFifo !== undefined ? { execFifo: request.execFifo } : {}),
      ...(noPivot ? { chrootToWorkingDirectory: true } : {}),
      ...(request.preserveFds ? { preserveFds: request.preserveFds } : {}),
      security: securityPlanFor(spec),
      // runc's --no-new-keyring (annotation session-keyring: host): no step, the agent's keyring stays.
      ...(sessionKeyringFromConfig(spec) === 'own' ? { sessionKeyring: sessionKeyringName(id) } : {}),
    });

    const clone = (): number => child.start(cloneFlagsFor(namespaces.filter((type) => type !== 'cgroup' && !joins(type))), { shareMemory: !needsOwnMemory(plan.process) });
    // A shared PID namespace (a pod's, shareProcessNamespace): born in it, not PID 1 of it.
    const sharedPid = joined.find((entry) => entry.type === 'pid');
    const pid = sharedPid ? insideNamespacesAt([sharedPid], clone) : clone();
    forChild.splice(0).forEach(closeFd);
    checkpoints.closeChildEnds();
    undo.push(() => {
      signalProcess(pid, SIGKILL);
      reap(pid, true);
    });
    // Not saved yet: until exec the child dies with the agent (parent-death signal).
    state.pid = pid;
    state.pidStartTime = processStartTime(pid);

    let userns: UsernsLayers | null = null;
    if (has('user')) {
      writeIdMaps(pid, spec.linux?.uidMappings ?? [], spec.linux?.gidMappings ?? []);
      if (rootfs) {
        userns = usernsLayers(rootfs.lower, pid, { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] }, `${directory}/idmap-probe`);
        undo.push(() => {
          releaseUsernsLayers(userns);
          userns = null;
        });
        if (userns.how === 'shifted') {
          // The record names the copies before they are made or reused: a collector sees them in use.
          rootfs.lower = userns.lower;
          context.store.save(state);
          userns.make();
        }
      }
    }
    if (joined.length) verifyJoined(checkpoints.nextReport(), pid, joined);

    if (joins('net')) {
      // The pod's sandbox owns the interfaces; a member brings none of its own.
    } else if (networkMode === 'bridge') {
      const { bridge, subnet } = bridgeOf(spec, context);
      state.network = attachBridgeNetwork({ containerId: id, pid, stateDir: context.stateRoot, bridge, subnet, ports });
      undo.push(() => detachNetwork({ containerId: id, stateDir: context.stateRoot, bridge }));
    } else if (networkMode === 'none') {
      setupLoopback(pid);
    }

    // sysfs and mqueue are mounted from inside the container's net and ipc namespaces.
    const rootNamespaces: NamespaceType[] = ['mnt', ...(['net', 'ipc'] as const).filter(has)];
    if (root) {
      insideNamespaces(pid, rootNamespaces, () => assembleRootfs(recordedSpec, rootfs ?? { bundle: root }, state.cgroup, () => idmapLowers(userns)));
      releaseUsernsLayers(userns);
      userns = null;
    }
    if (mountsProc) {
      checkpoints.go();
      if (checkpoints.nextReport() !== PROC_MOUNTED) throw new Error(`the container's first process exited during setup (${describeExit(pid)})`);
      verifyProcMounted(pid, `${root}${procMount.destination}`);
    }
    if (root) insideNamespaces(pid, rootNamespaces, () => finishRootfs(recordedSpec, root, state.cgroup));
    terminal?.create(pid, request.consoleSocket ? { consoleSocket: request.consoleSocket } : state.logPath);
    checkpoints.go();
    const report = checkpoints.nextReport();
    if (report !== SETTLED) throw new Error(`the container's first process exited during setup (${describeExit(pid)})`);
    terminal?.verifyTaken(pid);
    settleProcessSettings(pid, plan.process);
    verifyCgroupMember(cgroup, pid);
    // The environment exists, the root is not switched yet: a failing hook throws, and the undo below deletes it all.
    // "created" (runtime-spec state.md: the environment of lifecycle step 2 exists; these are steps 3-5), as the validation suite expects.
    const hooksState = hookState(spec, id, 'created', pid, request.bundle ?? directory);
    const warn = context.warn ?? warnOnStderr;
    runHooks(spec.hooks, 'prestart', hooksState, null, warn);
    runHooks(spec.hooks, 'createRuntime', hooksState, null, warn);
    runHooks(spec.hooks, 'createContainer', hooksState, { pid, namespaces, cgroup }, warn);
    if (root) insideNamespaces(pid, ['mnt'], () => {
      if (noPivot) moveRootInto(root, pid);
      else pivotInto(root);
      makeWorkingDirectory(recordedSpec);
      restrictPaths(recordedSpec);
      if (!(exec instanceof ExecSlots)) checkProgramInRoot(exec.path, name);
    });
    // A UTS namespace joined by path is named too, as runc does: whoever shares it sees the new name.
    if (has('uts') && spec.hostname) insideNamespaces(pid, ['uts'], () => sethostname(spec.hostname!));
    applySysctls(pid, plan.sysctls);
    if (has('mnt') && !joins('mnt')) context.mountNamespaces.hold(id, pid);

    return { state, spec: recordedSpec, cgroup, parked: { checkpoints, program: child, ...(exec instanceof ExecSlots ? { slots: exec } : {}) } };
  } catch (error) {
    undo.unwind();
    throw error;
  }
}

/**
 * The bridge and subnet a bridged container's document asks for. `run` always writes both; a
 * caller's own config.json may leave them out, and then the runtime's default network fills in.
 */
function bridgeOf(spec: OciSpec, context: RuntimeContext): { bridge: string; subnet: string } {
  return {
    bridge: spec.annotations?.[ANNOTATIONS.bridge] ?? context.defaultBridge.name,
    subnet: spec.annotations?.[ANNOTATIONS.subnet] ?? context.defaultBridge.subnet,
  };
}

/** The kernel's word that the child is in the namespaces it was to join. */
function verifyJoined(report: string | null, pid: number, joined: { type: NamespaceType; path: string }[]): void {
  if (report !== NAMESPACES_JOINED) throw new Error(`the container's first process exited while joining namespaces (${describeExit(pid)})`);
  const actual = namespaceInodes(pid);
  for (const { type, path } of joined) {
    if (actual[type] !== statSync(path).ino) throw new Error(`the container's first process is not in the ${type} namespace of ${path}`);
  }
}

function verifyCgroupMember(cgroup: Cgroup, pid: number): void {
  if (!cgroup.processes().includes(pid)) throw new Error(`the container's first process did not join its cgroup ${cgroup.path}`);
}

function verifyProcMounted(pid: number, target: string): void {
  const mounted = readMountinfo(pid).some((m) => m.fstype === 'proc' && m.target === target);
  if (!mounted) throw new Error(`mount(proc → ${target}) in the container's PID namespace did not happen`);
}

function describeExit(pid: number): string {
  try {
    const status = reap(pid, false);
    return status ? `exit code ${status.code}` : 'still running';
  } catch {
    return 'already reaped';
  }
}
