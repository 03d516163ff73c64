/*
 * A lab's `host:` lines (in a setup or a solution) run in a shell on the lab host, as root. They
 * run asynchronously: the agent keeps answering its other clients meanwhile, and a slow line (a
 * registry starting, a large copy) must not stall it.
 */
import { spawn } from 'node:child_process';
import { badInput } from '../errors';

const HOST_LINE_TIMEOUT_MS = 20_000;

/** Runs `command` with `sh -c`; rejects with one line (`what` "…" on the lab host failed: why). */
export function runOnHost(command: string, what = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), HOST_LINE_TIMEOUT_MS);
    const fail = (why: string): void => reject(badInput(`${what}"${command}" on the lab host failed: ${why}`));
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      // A program that crashed ends its stderr with a stack and its runtime's version: say the error line.
      const lines = stderr.trim().split('\n');
      const last = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.pop() ?? '';
      if (signal === 'SIGKILL' && !last) return fail(`no end after ${HOST_LINE_TIMEOUT_MS / 1000} s`);
      fail(last || (signal ? `killed by ${signal}` : `exit status ${code}`));
    });
  });
}
