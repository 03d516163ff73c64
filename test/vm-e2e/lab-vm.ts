/*
 * The lab VM as the tests see it: a machine reached with OpenSSH through the block
 * `vagrant ssh-config` prints (HostName, Port, User vagrant, IdentityFile = the key Vagrant put in
 * on first boot). OpenSSH, not our extension, reads that block here: the witness must not share
 * code with what it checks. Everything the tests believe about the VM's kernel (namespaces,
 * cgroup v2 files, processes, links) is read through `run` as root in the VM. All commands share
 * one SSH connection (ControlMaster): a software-emulated VM takes seconds per handshake.
 *
 * scripts/vm-e2e.sh brings the VM up and runs the tests with VAGRANT_HOME / VAGRANT_DOTFILE_PATH
 * pointing at its machine state, inside the network namespace the VM's network lives in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../e2e/helpers/code-server';

export const VM_DIR = join(REPO, 'vm');

export interface VmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface LabVm {
  /** The machine's name in the Vagrantfile ("lab" for one node, lab1, lab2… for several). */
  name: string;
  /** HostName from `vagrant ssh-config`: the VM's address on libvirt's private network. */
  address: string;
  /** Runs a shell script as root in the VM (sudo sh -s, the script on stdin); rejects on non-zero exit. */
  run(script: string, timeoutMs?: number): Promise<string>;
  /** Same, but resolves to the exit status and output instead of rejecting. */
  tryRun(script: string, timeoutMs?: number): Promise<VmRun>;
  dispose(): void;
}

/** How many nodes scripts/vm-e2e.sh brought up (LAB_NODES: 1 → "lab", 2 → lab1 and lab2). */
export const NODES = Number(process.env.LAB_NODES ?? '1');

/** The node the single-node tests use: "lab", or lab1 of a multi-node lab. */
export const FIRST_NODE = NODES > 1 ? 'lab1' : 'lab';

/**
 * A VM that `vagrant up` in vm/ started (`machine`: a node's name; default the first), or a clear
 * error saying how to get one.
 */
export function labVm(machine = FIRST_NODE): LabVm {
  if (!process.env.VAGRANT_DOTFILE_PATH) {
    throw new Error('no lab VM: these tests run inside scripts/vm-e2e.sh, which boots the VM first (sudo scripts/vm-e2e.sh)');
  }
  const config = spawnSync('vagrant', ['ssh-config', machine], { cwd: VM_DIR, encoding: 'utf8', timeout: 120_000 });
  if (config.status !== 0) throw new Error(`vagrant ssh-config failed (is the VM up?): ${config.stderr || config.stdout}`);
  const name = /^Host\s+(\S+)/m.exec(config.stdout)?.[1];
  const address = /^\s*HostName\s+(\S+)/m.exec(config.stdout)?.[1];
  if (!name || !address) throw new Error(`vagrant ssh-config printed no Host/HostName:\n${config.stdout}`);
  const dir = mkdtempSync(join(tmpdir(), 'cl-vm-e2e-ssh-'));
  const configFile = join(dir, 'ssh_config');
  writeFileSync(configFile, config.stdout);
  const sshArgs = ['-F', configFile, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60',
    '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(dir, 'control')}`, '-o', 'ControlPersist=600', name];

  // Asynchronous: a test process blocked in spawnSync misses its runner's heartbeats on slow commands.
  const tryRun = (script: string, timeoutMs = 120_000): Promise<VmRun> =>
    new Promise((resolve) => {
      const child = spawn('ssh', [...sshArgs, 'sudo -n sh -s'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        stderr += `\n(no answer from the VM within ${timeoutMs / 1000} s)`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      child.stdin.end(script);
    });

  return {
    name,
    address,
    tryRun,
    run: async (script, timeoutMs) => {
      const result = await tryRun(script, timeoutMs);
      if (result.status !== 0) throw new Error(`in the VM (exit ${result.status}): ${script.trim()}\n${result.stderr}${result.stdout}`);
      return result.stdout;
    },
    dispose: () => {
      spawnSync('ssh', [...sshArgs, '-O', 'exit'], { stdio: 'ignore', timeout: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every `/proc/<pid>/ns/*` link in the VM, in one round trip: type → inode ("net:[4026531840]"). */
export async function vmNsInodes(vm: LabVm, pid: number): Promise<Record<string, number>> {
  const inodes: Record<string, number> = {};
  for (const line of (await vm.run(`for link in /proc/${pid}/ns/*; do readlink "$link"; done`)).split('\n')) {
    const match = /^(\w+):\[(\d+)\]$/.exec(line.trim());
    if (match) inodes[match[1]!] = Number(match[2]);
  }
  return inodes;
}

/** The VM's own `containers-lab inspect --json` (the agent's record, for pids and paths to witness). */
export async function vmInspect<T>(vm: LabVm, nameOrId: string): Promise<T> {
  return JSON.parse(await vm.run(`containers-lab inspect --json ${nameOrId}`)) as T;
}
