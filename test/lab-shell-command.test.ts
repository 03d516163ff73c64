/*
 * The command line a lab-host terminal runs over SSH (extension/connection/host-terminal.ts), run by
 * a real /bin/sh as sshd would run it: the shell starts in the answer folder (made when missing),
 * `containers-lab` on PATH is the extension's script for the agent build, and the CLI there talks
 * to the agent named by CONTAINERS_LAB_SOCKET. Paths with spaces and quotes must survive the
 * quoting. The interactive shell at the end is $SHELL — here a script that reports what it was
 * given and runs `containers-lab --version` through the script on PATH.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliShimScript, labShellCommand } from '../extension/connection/host-terminal';
import { AGENT_BUNDLE, ensureBuilt } from './helpers/service';

const work = mkdtempSync(join(tmpdir(), 'cl-lab-shell-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function reportingShell(): string {
  const path = join(work, 'report-shell');
  writeFileSync(path, [
    '#!/bin/sh',
    'echo "args=$*"',
    'echo "cwd=$(pwd)"',
    'echo "cli=$(command -v containers-lab)"',
    'echo "socket=$CONTAINERS_LAB_SOCKET"',
    'echo "root=$CONTAINERS_LAB_ROOT"',
    'containers-lab --version || echo "containers-lab failed"',
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

describe('the lab shell command line', () => {
  it('starts $SHELL -i in the answer folder (made), with the extension\'s containers-lab first on PATH and the agent\'s paths', () => {
    ensureBuilt();
    const shimDir = join(work, "agent root/bin");
    mkdirSync(shimDir, { recursive: true });
    writeFileSync(join(shimDir, 'containers-lab'), cliShimScript(process.execPath, AGENT_BUNDLE));
    chmodSync(join(shimDir, 'containers-lab'), 0o755);
    const answers = join(work, "state/labs/work/it's a-process");
    const setup = { cwd: answers, socketPath: join(work, 'run dir', 'agent.sock'), stateRoot: join(work, 'state') };

    const command = labShellCommand(shimDir, setup, true);
    const ran = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { ...process.env, SHELL: reportingShell(), PATH: '/usr/bin:/bin' } });
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    const lines = ran.stdout.trim().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'args=-i',
      `cwd=${realpathSync(answers)}`,
      `cli=${join(shimDir, 'containers-lab')}`,
      `socket=${setup.socketPath}`,
      `root=${setup.stateRoot}`,
    ]);
    expect(existsSync(answers)).toBe(true);
    expect(lines[5]).toMatch(/^containers-lab \d+\.\d+\.\d+/);
  });

  it('a folder that cannot be made leaves the shell where it was, not a terminal that closes at once', () => {
    const blocker = join(work, 'a-file');
    writeFileSync(blocker, '');
    const command = labShellCommand(join(work, 'no-bin'), { cwd: join(blocker, 'answers'), socketPath: '/run/containers-lab/agent.sock' }, true);
    const ran = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', cwd: work, env: { ...process.env, SHELL: reportingShell(), PATH: '/usr/bin:/bin' } });
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain(`cwd=${realpathSync(work)}\n`);
    expect(ran.stdout).toContain('socket=/run/containers-lab/agent.sock\n');
  });

  it('for a user that is not root, goes through sudo -H with the whole line quoted once', () => {
    const command = labShellCommand('/home/vagrant/.containers-lab/agent/bin', { cwd: "/var/lib/x/it's", socketPath: '/run/containers-lab/agent.sock' }, false);
    expect(command.startsWith("sudo -H sh -c '")).toBe(true);
    // what sudo's sh gets is the root command line, unchanged
    const inner = spawnSync('/bin/sh', ['-c', `printf %s ${command.slice('sudo -H sh -c '.length)}`], { encoding: 'utf8' }).stdout;
    expect(inner).toBe(labShellCommand('/home/vagrant/.containers-lab/agent/bin', { cwd: "/var/lib/x/it's", socketPath: '/run/containers-lab/agent.sock' }, true));
  });
});
