/*
 * Driving Vagrant for the "Start/Stop/Destroy Lab VM" commands, kept free of 'vscode' so it is
 * unit-tested with the real vagrant. Vagrant is a CLI that turns a Vagrantfile into running VMs
 * through a provider (VirtualBox, libvirt…); `vagrant up` creates and boots, `halt` shuts down
 * (the disk stays), `destroy -f` deletes the VM and its disk. Its progress lines look like
 * "==> lab: Booting VM...": the machine name, then what it is doing.
 *
 * Vagrant keeps a machine's state (.vagrant/) next to the Vagrantfile it was run from, so a VM
 * started from the repository root is managed from there, one started in vm/ from vm/.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type VmAction = 'up' | 'halt' | 'destroy';

export function vagrantArgs(action: VmAction): string[] {
  if (action === 'destroy') return ['destroy', '-f'];
  return [action];
}

/** Whether `dir/.vagrant/machines/<name>/<provider>/id` exists: a VM was created from `dir`. */
export function hasMachineState(dir: string): boolean {
  const machines = join(dir, '.vagrant', 'machines');
  if (!existsSync(machines)) return false;
  return readdirSync(machines).some((name) => {
    const machineDir = join(machines, name);
    try {
      return readdirSync(machineDir).some((provider) => existsSync(join(machineDir, provider, 'id')));
    } catch {
      return false;
    }
  });
}

/** Where to run vagrant: the repository root if the VM was created from there, else vm/. */
export function vagrantWorkingDir(repoRoot: string): string {
  const vmDir = join(repoRoot, 'vm');
  if (!hasMachineState(vmDir) && existsSync(join(repoRoot, 'Vagrantfile')) && hasMachineState(repoRoot)) return repoRoot;
  return vmDir;
}

/** "==> lab: Booting VM..." → "lab: Booting VM..."; null for lines that are not progress. */
export function progressMessage(line: string): string | null {
  const match = /^==> ([^:]+): (.+)$/.exec(line.trim());
  return match ? `${match[1]}: ${match[2]!.trim()}` : null;
}

export const VAGRANT_MISSING =
  'Vagrant is not installed (no "vagrant" on PATH): install Vagrant and a provider — VirtualBox, or libvirt with the vagrant-libvirt plugin (Debian: apt-get install vagrant vagrant-libvirt libvirt-daemon-system)';

/** The one actionable line for a failed vagrant run, from what it printed. */
export function diagnoseVagrantFailure(output: string, action: VmAction): string {
  const checks: [RegExp, string][] = [
    [/No usable default provider could be found/i,
      'No Vagrant provider works here: install VirtualBox, or libvirt + vagrant-libvirt (Debian: apt-get install vagrant-libvirt libvirt-daemon-system), then retry'],
    [/could not detect VirtualBox/i,
      'VirtualBox is not installed: install it, or use libvirt (set VAGRANT_DEFAULT_PROVIDER=libvirt and install vagrant-libvirt)'],
    [/provider '?libvirt'? could not be found|plugin.*libvirt.*not installed/i,
      'The libvirt provider is missing: install the vagrant-libvirt plugin (Debian: apt-get install vagrant-libvirt)'],
    [/Error while connecting to Libvirt|Failed to connect socket to .*libvirt/i,
      'libvirt is not running: start libvirtd (and virtlogd), e.g. "sudo systemctl start libvirtd", and make sure you may use it (group libvirt)'],
    [/Could not access KVM kernel module|KVM is not available|kvm.*Permission denied/i,
      'Hardware virtualisation (KVM) is not available: set LAB_LIBVIRT_DRIVER=qemu (slow software emulation) or enable VT-x/AMD-V'],
    [/box '.*' could not be found|could not resolve host|Failed to connect to .*vagrantcloud|The box .* could not be found/i,
      'The VM\'s box is not installed and could not be downloaded: build it offline with "sudo vm/build-box.sh", or connect to the internet once'],
    [/Vagrantfile[\s\S]*containers-lab: (.+)/, '$1'],
  ];
  for (const [pattern, message] of checks) {
    const match = pattern.exec(output);
    if (match) return message.replace('$1', match[1] ?? '');
  }
  const last = output.split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(-1)[0];
  return `"vagrant ${vagrantArgs(action).join(' ')}" failed${last ? `: ${last}` : ''}`;
}

export interface VagrantRun {
  code: number | null;
  output: string;
}

export interface RunVagrantOptions {
  cwd: string;
  /** Every line vagrant prints, stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  vagrantBin?: string;
}

/** Runs vagrant and streams its lines; rejects only when vagrant cannot be started at all. */
export function runVagrant(args: string[], options: RunVagrantOptions): Promise<VagrantRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.vagrantBin ?? 'vagrant', args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), VAGRANT_NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const pending = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer | null): void => {
      const text = pending[stream] + (chunk ? chunk.toString() : '\n');
      const lines = text.split(/\r?\n/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) {
        if (!chunk && line === '') continue;
        output += `${line}\n`;
        options.onLine?.(line);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => feed('stdout', chunk));
    child.stderr.on('data', (chunk: Buffer) => feed('stderr', chunk));
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(error.code === 'ENOENT' ? VAGRANT_MISSING : `cannot run vagrant: ${error.message}`));
    });
    child.once('close', (code) => {
      feed('stdout', null);
      feed('stderr', null);
      resolve({ code, output });
    });
  });
}
