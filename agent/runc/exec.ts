/*
 * exec [--process FILE | ARGS…] [--detach] [--pid-file F] [--tty] [--cwd D] [--env K=V]
 *      [--user UID[:GID]] [--cap CAP] [--preserve-fds N] ID
 *
 * A further process in a running container, through the runtime's exec (../runtime/lifecycle/exec.ts):
 * it joins every namespace and the cgroup of the container's first process and gets the
 * container's security settings — or those of --process, the runtime-spec "process" document
 * containerd's shim writes. Its stdio are the caller's. In the foreground this process waits and
 * exits with the exec'd program's code; with --detach it returns once the program runs, and the
 * program is re-parented to the caller's subreaper.
 */
import { readFileSync } from 'node:fs';
import type { OciSpec } from '../protocol';
import { execWithCallerStdio } from '../runtime/lifecycle/exec';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import { writePidFile } from './pid-file';
import { forwardSignals, waitForChild } from './signals';
import { preservedCount } from './preserve-fds';
import type { Invocation } from './verb';

type ProcessDocument = NonNullable<OciSpec['process']>;

export async function exec(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [
    { name: 'process', alias: 'p', kind: 'string' },
    { name: 'detach', alias: 'd', kind: 'bool' },
    { name: 'pid-file', kind: 'string' },
    { name: 'tty', alias: 't', kind: 'bool' },
    { name: 'console-socket', kind: 'string' },
    { name: 'cwd', kind: 'string' },
    { name: 'env', alias: 'e', kind: 'list' },
    { name: 'user', alias: 'u', kind: 'string' },
    { name: 'additional-gids', alias: 'g', kind: 'list' },
    { name: 'cap', alias: 'c', kind: 'list' },
    { name: 'no-new-privs', kind: 'bool' },
    { name: 'preserve-fds', kind: 'string' },
  ]);
  const id = requireId('exec', parsed.positionals.slice(0, 1));
  const { root } = invocation;
  const container = root.load(id);
  if (container.status === 'paused') throw new RuncError('cannot exec in a paused container');
  if (container.status !== 'running') throw new RuncError('cannot exec in a stopped container');
  if (flag.string(parsed, 'console-socket') !== undefined) throw new RuncError('exec --console-socket: not supported by this runtime yet; run without --tty');
  const preserveFds = preservedCount(flag.string(parsed, 'preserve-fds'));
  const processDoc = processFrom(parsed, container.spec.process!);
  if (processDoc.args.length === 0) throw new RuncError('exec: no process args given: pass ARGS or --process');
  const pid = execWithCallerStdio(root.context, container.state, { id, args: processDoc.args, env: processDoc.env ?? [], cwd: processDoc.cwd }, {
    stdio: { stdin: 0, stdout: 1, stderr: 2 },
    process: processDoc,
    ...(preserveFds ? { preserveFds } : {}),
  });
  const pidFile = flag.string(parsed, 'pid-file');
  if (pidFile) writePidFile(pidFile, pid);
  if (flag.bool(parsed, 'detach')) return 0;
  const stopForwarding = forwardSignals(pid);
  const status = await waitForChild(pid);
  stopForwarding();
  return status;
}

/** --process FILE as it is; else the container's process with ARGS and the flags applied. */
function processFrom(parsed: ReturnType<typeof parseFlags>, base: ProcessDocument): ProcessDocument {
  const file = flag.string(parsed, 'process');
  if (file !== undefined) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProcessDocument;
    } catch (error) {
      throw new RuncError(`--process ${file}: ${(error as Error).message}`);
    }
  }
  const doc: ProcessDocument = { ...base, args: parsed.positionals.slice(1), terminal: flag.bool(parsed, 'tty') };
  const cwd = flag.string(parsed, 'cwd');
  if (cwd !== undefined) doc.cwd = cwd;
  const env = flag.list(parsed, 'env');
  if (env.length) doc.env = [...(base.env ?? []), ...env];
  const user = flag.string(parsed, 'user');
  if (user !== undefined) {
    const match = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!match) throw new RuncError(`invalid --user ${JSON.stringify(user)}: use UID[:GID] (numbers)`);
    doc.user = { ...doc.user, uid: Number(match[1]), gid: match[2] !== undefined ? Number(match[2]) : doc.user.gid };
  }
  const gids = flag.list(parsed, 'additional-gids');
  if (gids.length) doc.user = { ...doc.user, additionalGids: gids.map(Number) };
  const caps = flag.list(parsed, 'cap');
  if (caps.length && doc.capabilities) {
    const add = (list: string[] | undefined): string[] => [...new Set([...(list ?? []), ...caps])];
    doc.capabilities = { ...doc.capabilities, bounding: add(doc.capabilities.bounding), effective: add(doc.capabilities.effective), permitted: add(doc.capabilities.permitted) };
  }
  if (flag.bool(parsed, 'no-new-privs')) doc.noNewPrivileges = true;
  return doc;
}
