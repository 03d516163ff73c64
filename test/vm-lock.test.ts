/*
 * One lab VM job at a time on a machine (vm/host-libvirt.sh, used by scripts/vm-e2e.sh and
 * scripts/vm-up.sh): libvirtd's sockets are fixed paths, so two jobs each starting a libvirtd cut
 * each other off. The lock is a real flock(2) on a file — here one of the test's own — and the
 * kernel's list of locks (/proc/locks: "FLOCK ADVISORY WRITE <pid> <dev>:<inode>") is the witness
 * of who holds it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';

const repo = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'vm-lock-test-'));
const lockFile = join(scratch, 'containers-lab-vm.lock');
const started: ChildProcess[] = [];
afterEach(() => {
  // the whole process group: the holder's `sleep` keeps fd 9 (and so the lock) after bash is gone
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = (wait: number): NodeJS.ProcessEnv => ({ ...process.env, LAB_VM_LOCK: lockFile, LAB_VM_LOCK_WAIT: String(wait) });
const script = (body: string): string => `. ${join(repo, 'vm', 'host-libvirt.sh')}; ${body}`;

/** A job that takes the lock and keeps it until killed; resolves once it holds it. */
function holder(what: string, then = 'sleep 60'): Promise<ChildProcess> {
  const child = spawn('bash', ['-c', script(`lab_vm_lock "${what}" && echo locked && ${then}`)], { env: env(1), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  return new Promise((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && done(child));
    child.once('exit', (code) => fail(new Error(`the holder exited (${code}) before taking the lock`)));
  });
}

/**
 * The flocks the kernel holds on the lock file (/proc/locks names the pid that called flock(2):
 * flock(1), a child of the job, long gone — so only their number is a fact here).
 */
function lockHolders(): number[] {
  const inode = statSync(lockFile).ino;
  return readFileSync('/proc/locks', 'utf8').split('\n')
    .filter((line) => !line.includes('->')) // "->" lines are waiters, not holders
    .map((line) => line.replace(/^\d+:\s+/, '').split(/\s+/))
    .filter((fields) => fields[0] === 'FLOCK' && fields[2] === 'WRITE' && Number(fields[4]!.split(':')[2]) === inode)
    .map((fields) => Number(fields[3]));
}

function job(body: string, wait: number): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', script(body)], { env: env(wait), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the lab VM lock (vm/host-libvirt.sh)', () => {
  test('a second job waits, then gives up with a line naming the holder; the holder keeps the lock', async () => {
    const first = await holder('first job');
    expect(lockHolders()).toHaveLength(1);
    const second = job('lab_vm_lock "second job" && echo got-it', 2);
    expect(second.status).toBe(1);
    expect(second.stdout).not.toContain('got-it');
    expect(second.stderr).toContain(`second job: another lab VM job holds ${lockFile} (pid ${first.pid}, first job, since`);
    expect(second.stderr).toMatch(new RegExp(`second job: gave up after 2 s: the lab VM lock .* is still held by pid ${first.pid}, first job`));
    expect(lockHolders()).toHaveLength(1);
    process.kill(-first.pid!, 'SIGKILL');
    await new Promise((done) => first.once('exit', done));
    for (let tries = 0; lockHolders().length > 0 && tries < 50; tries++) await new Promise((done) => setTimeout(done, 100));
    expect(lockHolders(), 'the lock goes with its holder').toHaveLength(0);
  });

  test('a waiting job gets the lock once the holder ends', async () => {
    const first = await holder('short job', 'sleep 2');
    const second = job('lab_vm_lock "patient job" && echo got-it && cat "$LAB_VM_LOCK"', 30);
    expect(second.stderr).toContain(`(pid ${first.pid}, short job, since`);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^got-it\npid \d+, patient job, since /);
  });

  test('a child of the holder (fd 9 inherited: scripts/vm-e2e.sh → scripts/lab → scripts/vm-up.sh) goes on at once', () => {
    const run = job(`lab_vm_lock parent && bash -c '. ${join(repo, 'vm', 'host-libvirt.sh')}; lab_vm_lock child && echo child-ok'`, 1);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('child-ok');
  });

  test('a daemon started with 9>&- does not keep the lock after its job ends; one started without does', () => {
    const closed = job('lab_vm_lock job; sleep 30 9>&- </dev/null >/dev/null 2>&1 & echo $!', 1);
    const freed = job('lab_vm_lock next && echo got-it', 1);
    process.kill(Number(closed.stdout.trim()), 'SIGKILL');
    expect(freed.stdout.trim()).toBe('got-it');

    const kept = job('lab_vm_lock job; sleep 30 </dev/null >/dev/null 2>&1 & echo $!', 1);
    const daemon = Number(kept.stdout.trim());
    try {
      expect(lockHolders()).toHaveLength(1);
      expect(job('lab_vm_lock next && echo got-it', 1).status).toBe(1);
    } finally {
      process.kill(daemon, 'SIGKILL');
    }
  });
});
