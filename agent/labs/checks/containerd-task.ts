/*
 * Check "containerd-task": a container runs under the lab's containerd, made by
 * containers-lab-runc — asked of containerd and proved by the kernel.
 *
 * containerd says which tasks run (`ctr -a SOCKET -n NAMESPACE tasks ls`: id, PID, status). The
 * kernel says who made each: a task's process is a child of its containerd-shim (the shim is the
 * subreaper that reaps it), and the shim's command line names this containerd's socket (and, for
 * the v1 runtime, the runtime's --root). The runtime is whichever binary wrote state for the task
 * under that root: containers-lab-runc keeps `ROOT/NAMESPACE/containers/ID/state.json` (runc keeps
 * `ROOT/NAMESPACE/ID/state.json`), and that state must name this very process. `shim` names the
 * shim program the task must run under: `containerd-shim` is the v1 runtime's, which takes its OCI
 * runtime from config.toml alone (ctr's --runc-binary goes to the runc v2 shim).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { commandLine } from '../daemons/daemon';
import { containerdFiles, ctr, parentOf } from '../daemons/containerd';
import { labDaemonDirectory } from '../daemons/directory';
import { CheckFailed } from './outcome';

interface Task {
  id: string;
  pid: number;
}

/** Where a shim's runtime keeps state for its namespace: the v1 shim's -runtime-root, else the runc shim's default. */
function runtimeRoots(shimArgv: string[], namespace: string): string[] {
  const at = shimArgv.indexOf('-runtime-root');
  const roots = [join('/run/containerd/runc', namespace)];
  if (at >= 0 && shimArgv[at + 1]) roots.unshift(join(shimArgv[at + 1]!, namespace));
  return roots;
}

/** Why `task` is not a containers-lab-runc container of this containerd, or null when it is. */
function madeByOurRuntime(task: Task, socket: string, namespace: string, wantedShim: string | undefined): string | null {
  const shim = parentOf(task.pid);
  const shimArgv = shim === null ? [] : commandLine(shim);
  const shimName = basename(shimArgv[0] ?? '');
  if (!shimName.startsWith('containerd-shim')) return `task ${task.id}'s process ${task.pid} is not a child of a containerd-shim`;
  if (wantedShim !== undefined && shimName !== wantedShim) return `task ${task.id} runs under ${shimName}, not ${wantedShim}`;
  const address = shimArgv[shimArgv.indexOf('-address') + 1] ?? '';
  if (address !== socket && address !== `unix://${socket}`) return `task ${task.id}'s shim serves ${address || 'another containerd'}`;
  for (const root of runtimeRoots(shimArgv, namespace)) {
    const state = join(root, 'containers', task.id, 'state.json');
    if (existsSync(state)) {
      const pid = (JSON.parse(readFileSync(state, 'utf8')) as { pid?: unknown }).pid;
      return pid === task.pid ? null : `containers-lab-runc's state for ${task.id} names PID ${String(pid)}, not ${task.pid}`;
    }
    if (existsSync(join(root, task.id, 'state.json'))) return `task ${task.id} was made by another runtime (its state is ${join(root, task.id, 'state.json')}, runc's layout)`;
  }
  return `no containers-lab-runc state for task ${task.id} under ${runtimeRoots(shimArgv, namespace).join(' or ')}`;
}

export function checkContainerdTask(params: CheckParamsByKind['containerd-task'], context: LabContext): void {
  const { socket } = containerdFiles(labDaemonDirectory(context, 'containerd'));
  let listing: string;
  try {
    listing = ctr(socket, ['-n', params.namespace, 'tasks', 'ls'], 10_000);
  } catch (error) {
    throw new CheckFailed(`containerd at ${socket} does not answer (${(error as Error).message.split(': ').pop()})`);
  }
  const tasks = listing.split('\n').slice(1).flatMap((line): Task[] => {
    const [id, pid, status] = line.trim().split(/\s+/);
    return id && status === 'RUNNING' ? [{ id, pid: Number(pid) }] : [];
  });
  if (tasks.length === 0) throw new CheckFailed(`no running task in namespace ${params.namespace}`);
  const reasons: string[] = [];
  for (const task of tasks) {
    if (params.command !== undefined && basename(commandLine(task.pid)[0] ?? '') !== params.command) {
      reasons.push(`task ${task.id} runs ${commandLine(task.pid)[0] ?? 'nothing'}, not ${params.command}`);
      continue;
    }
    const why = madeByOurRuntime(task, socket, params.namespace, params.shim);
    if (why === null) return;
    reasons.push(why);
  }
  throw new CheckFailed(reasons.join('; '));
}
