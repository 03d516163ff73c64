/*
 * The lab host's terminal: a root shell on the lab host, set up so that what a task says works as
 * printed. Exercises are solved here, not inside a container: `containers-lab` must be on PATH and
 * talk to the agent this window is connected to, and the shell should start in the exercise's
 * answer folder ({{workdir}}, which the checks read).
 *
 *   containers-lab     a small script in <install root>/bin (beside the agent builds) that runs the
 *                      agent build this extension installed and verified, with the host's Node.js;
 *                      first on PATH, so a missing or stale `containers-lab` of the host's own
 *                      does not stand in for it
 *   CONTAINERS_LAB_SOCKET, CONTAINERS_LAB_ROOT
 *                      the connected agent's socket and state root, so the CLI reaches that agent
 *                      (a lab host can run a second agent on other paths, as the tests do)
 *   the working directory   the answer folder, made if it is not there yet
 *
 * The shell is started as `$SHELL -i` (interactive, not a login shell): a login shell runs
 * /etc/profile, which on Debian sets PATH again and would drop the CLI. ~/.bashrc (and Debian's
 * /etc/bash.bashrc) still run, so the prompt is the one the learner knows. A user that is not root
 * (the Vagrant user) gets there through `sudo -H`, on the pty, so a password could be typed.
 */
import { posix } from 'node:path';
import type { RemoteAgent } from './bootstrap';
import { shellQuote } from './shell';
import type { SshSession, TerminalWindow } from './ssh';
import type { HostTerminal, LabShellSetup } from './types';


/** The text of the `containers-lab` script: the given agent build, with the given Node.js. */
export function cliShimScript(nodePath: string, agentPath: string): string {
  return ['#!/bin/sh', '# containers-lab: the agent build the Containers Lab extension installed (written by the extension)', `exec ${shellQuote(nodePath)} ${shellQuote(agentPath)} "$@"`, ''].join('\n');
}

/** The environment a lab shell gets on top of its own: the CLI's folder first on PATH, the agent's paths. */
export function labShellEnvironment(shimDir: string, setup: LabShellSetup, path: string): Record<string, string> {
  return {
    PATH: `${shimDir}:${path}`,
    CONTAINERS_LAB_SOCKET: setup.socketPath,
    ...(setup.stateRoot ? { CONTAINERS_LAB_ROOT: setup.stateRoot } : {}),
  };
}

/** The folder of the `containers-lab` script on an SSH lab host: beside the builds, in the install root. */
export function remoteShimDir(remote: RemoteAgent): string {
  return posix.join(posix.dirname(remote.installDir), 'bin');
}

/** The command an SSH terminal runs: change to the folder, set the environment, start the shell. */
export function labShellCommand(shimDir: string, setup: LabShellSetup, isRoot: boolean): string {
  const steps: string[] = [];
  // A folder that cannot be made or entered leaves the shell where it is, not a terminal that closes at once.
  if (setup.cwd) steps.push(`{ mkdir -p ${shellQuote(setup.cwd)} && cd ${shellQuote(setup.cwd)}; }`);
  const assignments = [
    `PATH=${shellQuote(shimDir)}:"$PATH"`,
    `CONTAINERS_LAB_SOCKET=${shellQuote(setup.socketPath)}`,
    ...(setup.stateRoot ? [`CONTAINERS_LAB_ROOT=${shellQuote(setup.stateRoot)}`] : []),
  ];
  steps.push(`export ${assignments.join(' ')}`);
  steps.push('exec "${SHELL:-/bin/sh}" -i');
  const script = steps.join('; ');
  return isRoot ? script : `sudo -H sh -c ${shellQuote(script)}`;
}

/** Writes the `containers-lab` script on the lab host (as the SSH user, who owns the install root). */
export async function installRemoteShim(ssh: SshSession, remote: RemoteAgent): Promise<string> {
  const dir = remoteShimDir(remote);
  const target = posix.join(dir, 'containers-lab');
  const lines = cliShimScript(remote.nodePath, remote.agentPath).trimEnd().split('\n');
  // Written beside and renamed into place: a shell running the old script never reads half a file.
  const command = `mkdir -p ${shellQuote(dir)} && printf '%s\\n' ${lines.map(shellQuote).join(' ')} > ${shellQuote(`${target}.new`)} && chmod 755 ${shellQuote(`${target}.new`)} && mv -f ${shellQuote(`${target}.new`)} ${shellQuote(target)}`;
  const result = await ssh.exec(command, { timeoutMs: 15_000 });
  if (result.code !== 0) throw new Error(`cannot write ${target} on the lab host: ${result.stderr.trim() || `exit code ${result.code}`}`);
  return dir;
}

/** A lab shell on the SSH lab host, on a pty of this size. */
export async function openSshLabShell(ssh: SshSession, remote: RemoteAgent, setup: LabShellSetup, window: TerminalWindow): Promise<HostTerminal> {
  const shimDir = await installRemoteShim(ssh, remote);
  const channel = await ssh.terminal(window, labShellCommand(shimDir, setup, remote.isRoot));
  let code: number | null = null;
  channel.on('exit', (exitCode: number | null) => (code = exitCode));
  return {
    write: (data) => void channel.write(data),
    resize: (cols, rows) => void channel.setWindow(rows, cols, 0, 0),
    onData: (listener) => {
      channel.on('data', listener);
      channel.stderr.on('data', listener);
    },
    onClose: (listener) => void channel.on('close', () => listener(code)),
    close: () => void channel.close(),
  };
}
