/*
 * A daemon a lab's scenario needs on its node — a registry, a containerd — started from the lab's
 * own directory and stopped by the PID it wrote there.
 *
 * It runs in a session of its own (setsid: no terminal, not in the agent's process group), with
 * stdin from /dev/null and its output in a log file beside its configuration, so that it outlives
 * the one-shot CLI that started it and the next command can find it. Stopping it trusts the PID
 * file only while /proc/PID/cmdline still names the daemon's own configuration file: a PID reused
 * by another process after a crash is never signalled. A stopped child of the agent may stay a
 * zombie until Node reaps it; a zombie counts as gone.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { badInput } from '../../errors';

export interface DaemonFiles {
  /** Where its PID is written. */
  pidFile: string;
  /** Where its output goes. */
  logFile: string;
  /** A word of its command line that only this daemon has (its config file's path). */
  marker: string;
}

/** Starts `program args…` detached; resolves once `ready()` says so, or fails with the log's last line. */
export async function startDaemon(program: string, args: string[], files: DaemonFiles, ready: () => Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const log = openSync(files.logFile, 'a');
  let child;
  try {
    child = spawn(program, args, { detached: true, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = child.pid;
  child.unref();
  if (pid === undefined) throw badInput(`${program} could not be started: ${(await failed).message}`);
  writeFileSync(files.pidFile, `${pid}\n`);
  for (const deadline = Date.now() + timeoutMs; ;) {
    if (await ready()) return pid;
    if (!alive(pid) || Date.now() > deadline) {
      const last = lastLine(files.logFile);
      await stopDaemon(files);
      throw badInput(`${program} did not start${last ? `: ${last}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The PID in `files.pidFile` while that process is still this daemon, else null. */
export function daemonPid(files: DaemonFiles): number | null {
  if (!existsSync(files.pidFile)) return null;
  const pid = Number(readFileSync(files.pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return null;
  return commandLine(pid).includes(files.marker) ? pid : null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopDaemon(files: DaemonFiles, graceMs = 5_000): Promise<void> {
  const pid = daemonPid(files);
  if (pid === null) return;
  await stopProcess(pid, graceMs);
}

export async function stopProcess(pid: number, graceMs = 5_000): Promise<void> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid)) {
    if (Date.now() > deadline) signal(pid, 'SIGKILL');
    if (Date.now() > deadline + 5_000) throw badInput(`process ${pid} did not end after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Alive and not a zombie (/proc/PID/stat's state). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone meanwhile
  }
}

function lastLine(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').pop()?.slice(0, 300) ?? '';
  } catch {
    return '';
  }
}
