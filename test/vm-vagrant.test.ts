/*
 * The pure half of "Start/Stop/Destroy Lab VM" (extension/commands/vm-vagrant.ts): which vagrant
 * command runs where, its progress lines, and the actionable message for a failure. Failures are
 * produced by the real vagrant where this machine can (no VirtualBox; a bad lab setting), with a
 * throw-away Vagrant home and machine-state folder so nothing is left behind and nothing is
 * downloaded. Messages of situations this machine cannot reach (no libvirtd, no KVM) are checked
 * on the texts Vagrant prints for them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { needsTool, onPath, VAGRANT_FIX } from './helpers/tools';
import {
  VAGRANT_MISSING, diagnoseVagrantFailure, hasMachineState, progressMessage, runVagrant, vagrantArgs, vagrantWorkingDir,
} from '../extension/commands/vm-vagrant';
import { parseVagrantSshConfig, sameLabHost } from '../extension/connection/targets';

const repo = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'vm-vagrant-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const needsVagrant = needsTool('vagrant', VAGRANT_FIX);

const vagrantEnv = (name: string): NodeJS.ProcessEnv => ({
  ...process.env,
  VAGRANT_HOME: join(scratch, `${name}-home`),
  VAGRANT_DOTFILE_PATH: join(scratch, `${name}-state`),
  VAGRANT_CHECKPOINT_DISABLE: '1',
});

describe('commands and progress', () => {
  test('up, halt, destroy -f', () => {
    expect(vagrantArgs('up')).toEqual(['up']);
    expect(vagrantArgs('halt')).toEqual(['halt']);
    expect(vagrantArgs('destroy')).toEqual(['destroy', '-f']);
  });

  test('progress lines name the machine and the step; other lines are not progress', () => {
    expect(progressMessage('==> lab2: Booting VM...')).toBe('lab2: Booting VM...');
    expect(progressMessage('    lab: SSH address: 192.168.121.5:22')).toBeNull();
    expect(progressMessage('Bringing machine \'lab\' up with \'libvirt\' provider...')).toBeNull();
  });

  test('vagrant runs where the VM was created: vm/ by default, the root when only it has state', () => {
    const root = join(scratch, 'repo');
    mkdirSync(join(root, 'vm'), { recursive: true });
    writeFileSync(join(root, 'Vagrantfile'), '');
    expect(vagrantWorkingDir(root)).toBe(join(root, 'vm'));
    mkdirSync(join(root, '.vagrant', 'machines', 'lab', 'libvirt'), { recursive: true });
    expect(hasMachineState(root)).toBe(false); // a folder without an id is no machine
    writeFileSync(join(root, '.vagrant', 'machines', 'lab', 'libvirt', 'id'), 'f00');
    expect(hasMachineState(root)).toBe(true);
    expect(vagrantWorkingDir(root)).toBe(root);
    mkdirSync(join(root, 'vm', '.vagrant', 'machines', 'lab', 'libvirt'), { recursive: true });
    writeFileSync(join(root, 'vm', '.vagrant', 'machines', 'lab', 'libvirt', 'id'), 'ba4');
    expect(vagrantWorkingDir(root)).toBe(join(root, 'vm'));
  });
});

describe('a lab of several nodes (LAB_NODES=2): what "Switch Lab Node…" lists', () => {
  // `vagrant ssh-config` of a two-node lab, as vagrant-libvirt printed it here (addresses on libvirt's network)
  const twoNodes = ['lab1', 'lab2'].map((name, index) => [
    `Host ${name}`, `  HostName 192.168.121.${20 + index}`, '  User vagrant', '  Port 22', '  UserKnownHostsFile /dev/null',
    '  StrictHostKeyChecking no', '  PasswordAuthentication no', `  IdentityFile /work/main/vm/.vagrant/machines/${name}/libvirt/private_key`,
    '  IdentitiesOnly yes', '  LogLevel FATAL', '',
  ].join('\n')).join('\n');

  test('one target per node, each with its own address and key, named after the node', () => {
    const [lab1, lab2, ...rest] = parseVagrantSshConfig(twoNodes);
    expect(rest).toEqual([]);
    expect(lab1).toMatchObject({ kind: 'vagrant', label: 'lab VM (vagrant: lab1)', host: '192.168.121.20', port: 22, username: 'vagrant' });
    expect(lab2).toMatchObject({ kind: 'vagrant', label: 'lab VM (vagrant: lab2)', host: '192.168.121.21', port: 22, username: 'vagrant' });
    expect(lab1!.privateKeyPath).toMatch(/machines\/lab1\/libvirt\/private_key$/);
    expect(lab2!.privateKeyPath).toMatch(/machines\/lab2\/libvirt\/private_key$/);
  });

  test('the node connected now is recognised among them (same address, port and user), the other is not', () => {
    const [lab1, lab2] = parseVagrantSshConfig(twoNodes);
    expect(sameLabHost(lab1!, { ...lab1!, label: 'renamed' })).toBe(true);
    expect(sameLabHost(lab1!, lab2!)).toBe(false);
    expect(sameLabHost(lab1!, { ...lab1!, port: 2222 })).toBe(false);
    expect(sameLabHost(lab1!, { ...lab1!, username: 'root' })).toBe(false);
    expect(sameLabHost({ kind: 'local', label: 'this machine' }, lab1!)).toBe(false);
  });
});

describe('running the real vagrant', () => {
  test('streams every line as it comes (vagrant status of the lab VM)', async (context) => {
    if (!needsVagrant(context)) return;
    const lines: string[] = [];
    const run = await runVagrant(['status'], { cwd: join(repo, 'vm'), env: { ...vagrantEnv('status'), VAGRANT_DEFAULT_PROVIDER: 'libvirt' }, onLine: (line) => lines.push(line) });
    expect(run.code).toBe(0);
    expect(lines.some((line) => /^lab\s+not created \(libvirt\)/.test(line))).toBe(true);
    expect(run.output).toBe(lines.map((line) => `${line}\n`).join(''));
  });

  test('no vagrant on PATH: the message says what to install', async () => {
    await expect(runVagrant(['up'], { cwd: repo, vagrantBin: join(scratch, 'no-such-vagrant') })).rejects.toThrow(VAGRANT_MISSING);
  });

  test('no VirtualBox: vagrant up fails and the message says to install it or use libvirt', async (context) => {
    if (!needsVagrant(context)) return;
    if (onPath('VBoxManage')) context.skip(); // this machine has VirtualBox: the failure cannot be produced
    const run = await runVagrant(['up', '--provider=virtualbox'], { cwd: join(repo, 'vm'), env: vagrantEnv('novbox') });
    expect(run.code).not.toBe(0);
    expect(diagnoseVagrantFailure(run.output, 'up')).toMatch(/^VirtualBox is not installed: install it, or use libvirt/);
  });

  test('a bad lab setting: the Vagrantfile\'s own one-line message comes through', async (context) => {
    if (!needsVagrant(context)) return;
    const run = await runVagrant(['up'], { cwd: join(repo, 'vm'), env: { ...vagrantEnv('bad'), LAB_NODES: '0' } });
    expect(run.code).not.toBe(0);
    expect(diagnoseVagrantFailure(run.output, 'up')).toBe('nodes must be a whole number in 1..9 (vm/lab.yml or LAB_NODES), got "0"');
  });
});

describe('messages for failures this machine cannot produce', () => {
  test.each([
    ['Error while connecting to Libvirt: Error making a connection to libvirt URI qemu:///system', /^libvirt is not running: start libvirtd/],
    ['Call to virDomainCreateWithFlags failed: Could not access KVM kernel module: No such file or directory', /LAB_LIBVIRT_DRIVER=qemu/],
    ["The box 'debian/bookworm64' could not be found or\ncould not be accessed in the remote catalog.", /vm\/build-box\.sh/],
    ['No usable default provider could be found for your system.', /^No Vagrant provider works here/],
  ] as [string, RegExp][])('%s', (output, expected) => {
    expect(diagnoseVagrantFailure(output, 'up')).toMatch(expected);
  });

  test('anything else: the command and vagrant\'s last line', () => {
    expect(diagnoseVagrantFailure('Bringing machine up\nSomething odd happened.\n\n', 'destroy')).toBe('"vagrant destroy -f" failed: Something odd happened.');
  });
});
