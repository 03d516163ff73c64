/*
 * The lab VM's description, checked without booting a VM: Vagrant itself reads vm/Vagrantfile
 * (`vagrant validate` runs every provider's own config checks — vagrant-libvirt's for libvirt,
 * Vagrant's VirtualBox plugin for VirtualBox) for each configuration the lab supports, and
 * shellcheck reads every shell script under vm/ and scripts/.
 *
 * Tools come from Debian (vagrant, vagrant-libvirt, shellcheck; scripts/setup-host.sh installs them).
 * A missing tool fails the test under CI=true, and is a visible skip on a developer's machine.
 *
 * VirtualBox itself is not packaged by Debian, and Vagrant refuses to validate a provider it
 * cannot find. When no VBoxManage exists, the VirtualBox case puts a two-line VBoxManage on PATH
 * that only answers `--version`: what is under test is our Vagrantfile under Vagrant's real
 * VirtualBox config validator, not VirtualBox.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { needsTool, onPath, VAGRANT_FIX } from './helpers/tools';

const repo = resolve(__dirname, '..');
const vmDir = join(repo, 'vm');
const scratch = mkdtempSync(join(tmpdir(), 'vm-config-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const needsVagrant = needsTool('vagrant', VAGRANT_FIX);
const needsShellcheck = needsTool('shellcheck', 'apt-get install shellcheck (scripts/setup-host.sh does)');

// An empty Vagrant home per run: no installed box or plugin of this machine's user changes the outcome.
const vagrantHome = join(scratch, 'vagrant.d');
mkdirSync(vagrantHome);

interface Run {
  status: number | null;
  output: string;
}

function vagrant(args: string[], env: Record<string, string> = {}, cwd = vmDir): Run {
  const result = spawnSync('vagrant', args, {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    // Machine state (.vagrant/) goes to the scratch folder: nothing is left in the work tree.
    env: { ...process.env, VAGRANT_HOME: vagrantHome, VAGRANT_DOTFILE_PATH: join(scratch, 'state'), VAGRANT_CHECKPOINT_DISABLE: '1', LAB_SHOW_SETTINGS: '1', ...env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error ? result.error.message : ''}` };
}

function settingsLine(run: Run): Record<string, string> {
  const line = run.output.split('\n').find((candidate) => candidate.startsWith('containers-lab settings:'));
  if (!line) throw new Error(`the Vagrantfile printed no settings line:\n${run.output}`);
  return Object.fromEntries(line.replace('containers-lab settings:', '').trim().split(/\s+/).map((pair) => pair.split('=') as [string, string]));
}

/** A VBoxManage that only tells its version, when the real one is missing (see the header). */
function virtualBoxPath(): string {
  if (onPath('VBoxManage')) return process.env.PATH ?? '';
  const bin = join(scratch, 'vbox-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'VBoxManage'), '#!/bin/sh\necho 7.0.14r161095\n');
  chmodSync(join(bin, 'VBoxManage'), 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

describe('vagrant validate', () => {
  test('libvirt with the qemu driver (no nested KVM): valid, 2 CPUs, 2 GiB from vm/lab.yml', (context) => {
    if (!needsVagrant(context)) return;
    const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', LAB_LIBVIRT_DRIVER: 'qemu' });
    expect(run.output).toContain('Vagrantfile validated successfully');
    expect(run.status).toBe(0);
    expect(settingsLine(run)).toMatchObject({ cpus: '2', memory: '2048', nodes: '1', libvirt_driver: 'qemu', box: 'debian/bookworm64' });
  });

  test('libvirt_driver "auto" (vm/lab.yml\'s default): kvm only where /dev/kvm exists and the CPU has VT-x/AMD-V; a set driver wins', (context) => {
    if (!needsVagrant(context)) return;
    // this machine's own answer: kvm_pvm here has /dev/kvm but no vmx/svm flag → qemu
    const hardware = existsSync('/dev/kvm') && /\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    for (const env of [{}, { LAB_LIBVIRT_DRIVER: 'auto' }] as Record<string, string>[]) {
      const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', ...env });
      expect(run.status, run.output).toBe(0);
      expect(settingsLine(run)).toMatchObject({ libvirt_driver: hardware ? 'kvm' : 'qemu' });
    }
    const forced = vagrant(['validate', '--ignore-provider'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', LAB_LIBVIRT_DRIVER: 'kvm' });
    expect(settingsLine(forced)).toMatchObject({ libvirt_driver: 'kvm' });
  });

  test('virtualbox: valid', (context) => {
    if (!needsVagrant(context)) return;
    const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'virtualbox', PATH: virtualBoxPath() });
    expect(run.output).toContain('Vagrantfile validated successfully');
    expect(run.status).toBe(0);
  });

  test('multi-node: LAB_NODES=3 gives lab1..lab3, each valid', (context) => {
    if (!needsVagrant(context)) return;
    const env = { VAGRANT_DEFAULT_PROVIDER: 'libvirt', LAB_NODES: '3', LAB_LIBVIRT_DRIVER: 'qemu' };
    const run = vagrant(['validate'], env);
    expect(run.output).toContain('Vagrantfile validated successfully');
    expect(run.status).toBe(0);
    const status = vagrant(['status', '--machine-readable'], env);
    expect(status.status).toBe(0);
    const names = [...status.output.matchAll(/^\d+,([^,]+),provider-name,libvirt$/gm)].map((match) => match[1]);
    expect(names).toEqual(['lab1', 'lab2', 'lab3']);
  });

  test('a lab keeps the number of nodes it was created with: vagrant halt/destroy without LAB_NODES reach lab1 and lab2', (context) => {
    if (!needsVagrant(context)) return;
    // the machine state `LAB_NODES=2 vagrant up` leaves: .vagrant/machines/lab1|lab2/libvirt/id
    const state = join(scratch, 'two-node-state');
    for (const name of ['lab1', 'lab2']) {
      mkdirSync(join(state, 'machines', name, 'libvirt'), { recursive: true });
      writeFileSync(join(state, 'machines', name, 'libvirt', 'id'), `uuid-of-${name}`);
    }
    // --ignore-provider: the Vagrantfile is what is under test, not a libvirtd
    const created = vagrant(['validate', '--ignore-provider'], { VAGRANT_DOTFILE_PATH: state, VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
    expect(settingsLine(created)).toMatchObject({ nodes: '2' });
    const explicit = vagrant(['validate', '--ignore-provider'], { VAGRANT_DOTFILE_PATH: state, VAGRANT_DEFAULT_PROVIDER: 'libvirt', LAB_NODES: '1' });
    expect(settingsLine(explicit), 'LAB_NODES still wins').toMatchObject({ nodes: '1' });
    const fresh = vagrant(['validate', '--ignore-provider'], { VAGRANT_DOTFILE_PATH: join(scratch, 'no-state'), VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
    expect(settingsLine(fresh), 'nothing created: vm/lab.yml').toMatchObject({ nodes: '1' });
  });

  test('one node is called "lab"; the repository root Vagrantfile describes the same VM', (context) => {
    if (!needsVagrant(context)) return;
    const env = { VAGRANT_DEFAULT_PROVIDER: 'libvirt' };
    const run = vagrant(['status', '--machine-readable'], env, repo);
    expect(run.status).toBe(0);
    expect([...run.output.matchAll(/^\d+,([^,]+),provider-name,libvirt$/gm)].map((match) => match[1])).toEqual(['lab']);
    expect(vagrant(['validate'], env, repo).status).toBe(0);
  });

  test('environment overrides vm/lab.yml; an arm64 host gets the arm64 box', (context) => {
    if (!needsVagrant(context)) return;
    const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', LAB_CPUS: '1', LAB_MEMORY: '1024', LAB_HOST_ARCH: 'arm64' });
    expect(run.status).toBe(0);
    expect(settingsLine(run)).toMatchObject({ cpus: '1', memory: '1024', box: 'bento/debian-12', libvirt_box: 'bento/debian-12' });
  });

  test('the locally built box is preferred for libvirt once it is added', (context) => {
    if (!needsVagrant(context)) return;
    const home = join(scratch, 'vagrant-with-box.d');
    const boxDir = join(home, 'boxes', 'containers-lab-VAGRANTSLASH-debian12', '0', 'libvirt');
    mkdirSync(boxDir, { recursive: true });
    writeFileSync(join(boxDir, 'metadata.json'), JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: 8 }));
    const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', VAGRANT_HOME: home });
    expect(run.status).toBe(0);
    expect(settingsLine(run)).toMatchObject({ libvirt_box: 'containers-lab/debian12', box: 'debian/bookworm64' });
  });

  const refusals: [string, string, string][] = [
    ['LAB_NODES', '0', 'nodes must be a whole number in 1..9'],
    ['LAB_MEMORY', 'lots', 'memory must be a whole number'],
    ['LAB_LIBVIRT_DRIVER', 'xen', 'libvirt_driver must be auto, kvm or qemu'],
    ['LAB_NETWORK_PREFIX', '10.0', 'network_prefix must be three octets'],
  ];
  for (const [variable, value, message] of refusals) {
    test(`a bad ${variable}=${value} is refused with one clear line`, (context) => {
      if (!needsVagrant(context)) return;
      const run = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt', [variable]: value });
      expect(run.status).not.toBe(0);
      expect(run.output).toContain(`containers-lab: ${message}`);
    });
  }
});

/** Every shell script under vm/ and scripts/: *.sh files and files whose first line names sh or bash. */
function shellScripts(): string[] {
  const found: string[] = [];
  for (const folder of ['vm', 'scripts']) {
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (entry.endsWith('.sh') || /^#!.*\b(ba)?sh\b/.test(readFileSync(path, 'utf8').split('\n')[0] ?? '')) found.push(path);
      }
    };
    walk(join(repo, folder));
  }
  return found.sort();
}

describe('shellcheck', () => {
  const scripts = shellScripts();

  test('finds the provisioning and host scripts', () => {
    const names = scripts.map((path) => path.slice(repo.length + 1));
    expect(names).toEqual(expect.arrayContaining(['vm/provision.sh', 'scripts/setup-host.sh', 'scripts/test', 'scripts/lab']));
  });

  for (const path of scripts) {
    test(`${path.slice(repo.length + 1)} is shellcheck clean`, (context) => {
      if (!needsShellcheck(context)) return;
      const result = spawnSync('shellcheck', ['--format=gcc', '--external-sources', path], { cwd: repo, encoding: 'utf8' });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    });
  }
});

describe('scripts/vm-e2e.sh --prepare (scripts/test runs it in the background)', () => {
  test('where the job is skipped it says why, exits 0 and writes no results; the job itself then writes the skipped result', () => {
    const results = join(scratch, 'vm-e2e-results.json');
    const env = { ...process.env, CONTAINERS_LAB_VM_E2E: 'skip', VM_E2E_RESULTS: results };
    const prepare = spawnSync('bash', ['scripts/vm-e2e.sh', '--prepare'], { cwd: repo, env, encoding: 'utf8' });
    expect(prepare.stderr).toBe('vm-e2e --prepare: nothing to prepare (the lab VM cannot run here): CONTAINERS_LAB_VM_E2E=skip was set\n');
    expect(prepare.status).toBe(0);
    expect(existsSync(results)).toBe(false);
    const job = spawnSync('bash', ['scripts/vm-e2e.sh'], { cwd: repo, env, encoding: 'utf8' });
    expect(job.status).toBe(0);
    expect(JSON.parse(readFileSync(results, 'utf8'))).toMatchObject({ numPendingTests: 1, numFailedTests: 0 });
  });
});
