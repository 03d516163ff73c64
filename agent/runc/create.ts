/*
 * create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
 *
 * Makes the container from the bundle's config.json with the runtime's one creation path
 * (../runtime/lifecycle/create.ts, with the bundle's own root.path as the root filesystem) and
 * leaves its first process waiting on the exec FIFO (./fifo.ts). Then this process exits: the
 * first process outlives it and is re-parented to the caller's subreaper (containerd's shim, which
 * set PR_SET_CHILD_SUBREAPER), who will reap it and see its exit status. Its stdio are the
 * caller's own descriptors 0-2, or a terminal whose other end goes to --console-socket.
 * --no-pivot moves the root over "/" and chroots instead of pivot_root (../runtime/rootfs.ts
 * moveRootInto says why that is weaker); --preserve-fds N also hands over descriptors 3 … 3+N-1.
 * config.json's prestart, createRuntime and createContainer hooks run on the way (../runtime/hooks.ts).
 * Seccomp names this architecture lacks are left out, as runc's libseccomp does (withSeccompForThisArch).
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { validateConfig } from '../oci/validate';
import type { OciSpec } from '../protocol';
import { prepareContainer, type PreparedContainer } from '../runtime/lifecycle/create';
import { deleteContainer } from '../runtime/lifecycle/delete';
import { AT_EXEC_FIFO } from '../runtime/process/launch';
import { capabilitySetsMismatch } from '../runtime/process/security-plan';
import { seccompForArch } from '../runtime/seccomp';
import { closeFd } from '../kernel/files';
import { SIGKILL } from '../kernel/constants';
import { signalProcess } from '../kernel/processes';
import { RuncError } from './errors';
import { withRuncDefaultDevices } from './default-devices';
import { makeExecFifo } from './fifo';
import { flag, parseFlags, requireId, type FlagSpec } from './flags';
import { writePidFile } from './pid-file';
import type { RuncLog } from './log';
import { preservedCount } from './preserve-fds';
import type { RuncRoot } from './root';
import type { Invocation } from './verb';

export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'bundle', alias: 'b', kind: 'string' },
  { name: 'pid-file', kind: 'string' },
  { name: 'console-socket', kind: 'string' },
  { name: 'no-pivot', kind: 'bool' },
  { name: 'no-new-keyring', kind: 'bool' },
  { name: 'preserve-fds', kind: 'string' },
];

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  /** --preserve-fds N (0: none). */
  preserveFds?: number;
  /** Whether the caller stays to start it (run): then a terminal with no console socket is the caller's to keep. */
  detach: boolean;
}

export async function create(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, CREATE_FLAGS);
  const id = requireId('create', parsed.positionals);
  createFromBundle(invocation.root, id, optionsFrom(parsed, true), invocation.log);
  return 0;
}

export function optionsFrom(parsed: ReturnType<typeof parseFlags>, detach: boolean): CreateOptions {
  const preserveFds = preservedCount(flag.string(parsed, 'preserve-fds'));
  return {
    bundle: resolve(flag.string(parsed, 'bundle') ?? process.cwd()),
    ...(flag.string(parsed, 'pid-file') !== undefined ? { pidFile: resolve(flag.string(parsed, 'pid-file')!) } : {}),
    ...(flag.string(parsed, 'console-socket') !== undefined ? { consoleSocket: resolve(flag.string(parsed, 'console-socket')!) } : {}),
    noPivot: flag.bool(parsed, 'no-pivot'),
    ...(preserveFds ? { preserveFds } : {}),
    detach,
  };
}


/** The bundle's config.json, checked against the runtime-spec's schema. */
export function readBundle(bundle: string): OciSpec {
  const path = join(bundle, 'config.json');
  if (!existsSync(path)) throw new RuncError(`JSON specification file config.json not found`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RuncError(`config.json: ${(error as Error).message}`);
  }
  return validateConfig(doc);
}

/**
 * The bundle's seccomp profile with only the names this machine has, as libseccomp leaves the
 * others out for runc: the default profiles of Docker and containerd name i386's chown32 and
 * ARM's cacheflush beside x86-64's calls. Each name left out is a debug line in --log.
 */
function withSeccompForThisArch(spec: OciSpec, log: RuncLog): OciSpec {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) return spec;
  return { ...spec, linux: { ...spec.linux, seccomp: seccompForArch(seccomp, (message) => log.debug(message)) } };
}

/** Steps of create shared with run; on return the first process waits on the exec FIFO. */
export function createFromBundle(root: RuncRoot, id: string, options: CreateOptions, log: RuncLog): PreparedContainer {
  checkNewId(root, id);
  try {
    return createLocked(root, id, options, log);
  } catch (error) {
    // Nothing was made: the id's lock file goes too (as after delete), or every refused create would leave one.
    if (!root.exists(id)) root.removeLock(id);
    throw error;
  }
}

function createLocked(root: RuncRoot, id: string, options: CreateOptions, log: RuncLog): PreparedContainer {
  const bundleSpec = withRuncDefaultDevices(withSeccompForThisArch(readBundle(options.bundle), log));
  // run in the foreground with no console socket: the caller's own stdio (a terminal, if it has one) serve.
  const callersTerminal = bundleSpec.process?.terminal === true && !options.detach && !options.consoleSocket;
  const spec = callersTerminal ? { ...bundleSpec, process: { ...bundleSpec.process!, terminal: false } } : bundleSpec;
  if (!spec.root?.path) throw new RuncError('config.json: root.path is required');
  const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(options.bundle, spec.root.path);
  if (!existsSync(rootfs)) throw new RuncError(`rootfs (${rootfs}) does not exist`);
  if (bundleSpec.process?.terminal === true && options.detach && !options.consoleSocket) {
    throw new RuncError('cannot allocate tty if runc will detach without setting console socket');
  }
  if (spec.process?.terminal !== true && options.consoleSocket) {
    throw new RuncError('cannot use console socket if runc will not detach or allocate tty');
  }
  // Made beside the lock until the container's directory exists, then moved into it (the open descriptor follows).
  const staging = join(root.path, 'locks', `${id}.fifo`);
  const fifo = makeExecFifo(staging);
  root.placeCgroupsFor(spec);
  let prepared: PreparedContainer | null = null;
  try {
    prepared = prepareContainer(root.context, {
      id, name: id, spec, imageLayer: '', bundleRootfs: rootfs,
      stdio: { stdin: 0, stdout: 1, stderr: 2 },
      execFifo: fifo,
      bundle: options.bundle,
      noPivot: options.noPivot,
      ...(options.preserveFds ? { preserveFds: options.preserveFds } : {}),
      ...(options.consoleSocket ? { consoleSocket: options.consoleSocket } : {}),
    }, 'from-spec');
    renameSync(staging, root.fifoPath(id));
    const { checkpoints } = prepared.parked;
    checkpoints.go();
    const report = checkpoints.nextReport();
    if (report !== AT_EXEC_FIFO) throw new RuncError('container init exited before waiting for start');
    // Its sets are made by now (../runtime/process/launch.ts): one that did not take is create's error, as runc's "unable to apply caps".
    const capabilities = capabilitySetsMismatch(prepared.state.pid!, spec.process?.capabilities);
    if (capabilities) throw new RuncError(`unable to apply capabilities: ${capabilities}`);
    checkpoints.close();
    // Not parked.program.release(): the first process still runs in that memory, shared with this
    // one (CLONE_VM), until its execve; the mapping stays with it when this process exits.
    prepared.state.status = 'created';
    root.context.store.save(prepared.state);
    root.saveMeta(id, { bundle: options.bundle, created: prepared.state.createdAt, owner: '' });
    if (options.pidFile) writePidFile(options.pidFile, prepared.state.pid!);
    return prepared;
  } catch (error) {
    if (prepared) {
      if (prepared.state.pid !== null) signalProcess(prepared.state.pid, SIGKILL);
      try {
        deleteContainer(root.context, prepared.state, prepared.cgroup, options.bundle);
      } catch {
        // the first error is the one to report
      }
    }
    rmSync(staging, { force: true });
    throw error;
  } finally {
    closeFd(fifo);
  }
}

function checkNewId(root: RuncRoot, id: string): void {
  root.lock(id);
  if (root.exists(id)) throw new RuncError(`container with id exists: ${id}`);
  // A directory without a record: a create that died half-way (its process gone with it).
  if (existsSync(root.directory(id))) rmSync(root.directory(id), { recursive: true, force: true });
}
