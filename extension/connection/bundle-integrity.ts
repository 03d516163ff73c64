/*
 * The uploaded agent is run as root: it must be exactly the files this extension carries.
 *
 * The install directory on the lab host belongs to the SSH user (often not root: `vagrant`), and
 * anything running as that user could change a file in it between two connections; a directory
 * that merely exists proves nothing. So on every connect the host hashes what is installed —
 * `sha256sum` and `find`, which every Debian has, even a minimal one — and the extension compares
 * each file with its own copy: a file changed, missing or added, or something that is not a plain
 * file (a symlink pointing elsewhere), and the build is uploaded again before anything runs it. An
 * agent still running from the replaced files (the service, a dial-stdio bridge) is stopped, so
 * the one that answers afterwards runs the verified copy.
 *
 * The same look tightens the permissions: directories 0700 (only the owner and root can reach the
 * files at all), files never writable by group or others.
 *
 * What remains: a process of the SSH user that changes a file in the moment between the check and
 * the start. Only root-owned files would close that; the agent's install stays in the user's home
 * like VS Code Remote-SSH's server does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asRoot, shellQuote } from './shell';
import type { SshSession } from './ssh';

/** Each bundle file (relative path, as `find .` prints it: "./containers-lab.js") → its sha256 in hex. */
export type BundleManifest = ReadonlyMap<string, string>;

export type InstallState =
  | { state: 'absent' }
  | { state: 'verified' }
  /** Present but not this build's files: `problem` says which (one line). */
  | { state: 'mismatch'; problem: string };

/** Hashes the files the extension would upload (`files` as bundleFiles lists them). */
export function bundleManifest(bundleDir: string, files: readonly string[]): BundleManifest {
  const manifest = new Map<string, string>();
  for (const file of files) manifest.set(`./${file}`, createHash('sha256').update(readFileSync(join(bundleDir, file))).digest('hex'));
  return manifest;
}

/**
 * Shell lines that tighten and describe the install directory `dir` (a shell word, "$HOME"/… allowed):
 * "install=absent|symlink|present", then one "sha=<hex>  ./path" per plain file and one
 * "other=./path" per entry that is neither a file nor a directory.
 */
export function installCheckScript(dir: string): string {
  return [
    `D=${dir}`,
    'if [ -L "$D" ]; then echo install=symlink',
    'elif [ -d "$D" ]; then',
    '  echo install=present',
    '  find "$D" -type d ! -perm 700 -exec chmod 700 {} + 2>/dev/null',
    '  find "$D" -type f -perm /022 -exec chmod go-w {} + 2>/dev/null',
    `  (cd "$D" && find . -type f -exec sha256sum {} + 2>/dev/null | sed 's/^/sha=/')`,
    `  (cd "$D" && find . ! -type d ! -type f 2>/dev/null | sed 's/^/other=/')`,
    'else echo install=absent',
    'fi',
  ].join('\n');
}

/** Compares what installCheckScript printed with the manifest. */
export function judgeInstall(output: string, manifest: BundleManifest): InstallState {
  const lines = output.split('\n');
  const kind = lines.find((line) => line.startsWith('install='))?.slice('install='.length).trim();
  if (kind === 'absent' || kind === undefined) return { state: 'absent' };
  if (kind === 'symlink') return { state: 'mismatch', problem: 'the install directory is a symbolic link' };
  const found = new Map<string, string>();
  const problems: string[] = [];
  for (const line of lines) {
    if (line.startsWith('other=')) problems.push(`${line.slice('other=./'.length)} is not a plain file`);
    const match = /^sha=([0-9a-f]{64}) {2}(.*)$/.exec(line);
    // sha256sum marks a name it had to escape (a newline, a backslash) with a leading "\": never ours.
    if (line.startsWith('sha=') && !match) problems.push(`an unexpected file (${line.slice(4, 80)})`);
    if (match) found.set(match[2]!, match[1]!);
  }
  for (const [path, hash] of manifest) {
    const installed = found.get(path);
    if (installed === undefined) problems.push(`${path.slice(2)} is missing`);
    else if (installed !== hash) problems.push(`${path.slice(2)} differs from this extension's copy`);
  }
  for (const path of found.keys()) if (!manifest.has(path)) problems.push(`${path.slice(2)} is not part of this build`);
  if (problems.length === 0) return { state: 'verified' };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { state: 'mismatch', problem: `${problems[0]}${more}` };
}

/** Checks (and tightens) an install directory on the host; `dir` is an absolute path. */
export async function verifyInstall(ssh: SshSession, dir: string, manifest: BundleManifest): Promise<InstallState> {
  const result = await ssh.exec(installCheckScript(shellQuote(dir)), { timeoutMs: 30_000 });
  return judgeInstall(result.stdout, manifest);
}

/**
 * Stops every process on the host whose command line names `agentPath` (the service, dial-stdio
 * bridges), as root, and waits up to 10 s for them to end. Containers outlive it, as they do a
 * restart. Returns the PIDs it signalled.
 */
export async function stopAgentsRunningFrom(ssh: SshSession, agentPath: string, isRoot: boolean): Promise<number[]> {
  // An argument of a process equal to the path, read from /proc/<pid>/cmdline (NUL-separated):
  // this script's own text never holds the path alone on a line, so it never matches itself.
  const script = [
    `A=${shellQuote(agentPath)}`,
    'PIDS=',
    'for d in /proc/[0-9]*; do',
    '  if tr "\\000" "\\n" < "$d/cmdline" 2>/dev/null | grep -qxF -e "$A"; then PIDS="$PIDS ${d#/proc/}"; fi',
    'done',
    'if [ -n "$PIDS" ]; then kill $PIDS 2>/dev/null; fi',
    // A process that has ended but is not yet reaped has an empty command line: it counts as gone.
    'for i in $(seq 1 100); do',
    '  alive=',
    '  for p in $PIDS; do if tr -d "\\000" < /proc/$p/cmdline 2>/dev/null | grep -q .; then alive=yes; fi; done',
    '  [ -z "$alive" ] && break',
    '  sleep 0.1',
    'done',
    'echo "stopped=$PIDS"',
    '[ -z "$alive" ]',
  ].join('\n');
  const result = await ssh.exec(asRoot(script, isRoot), { timeoutMs: 30_000 });
  const stopped = (/stopped=(.*)/.exec(result.stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').slice(-1)[0] || `the agent (pids ${stopped.join(' ')}) did not end within 10 s`;
    throw new Error(`cannot stop the agent running from the replaced files ${agentPath}: ${why}`);
  }
  return stopped;
}
