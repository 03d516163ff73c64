/*
 * Signal dispositions a new process must not inherit.
 *
 * execve(2) resets caught signals to their default action but keeps ignored ones ignored.
 * Node ignores SIGPIPE and SIGXFSZ, so a container's process started from Node would silently
 * survive writing to a closed pipe (`yes | head` would never end). The child therefore resets
 * every signal its parent ignores, read from the SigIgn mask in /proc/self/status.
 */
import { readFileSync } from 'node:fs';

const SIGKILL = 9;
const SIGSTOP = 19;

export function ignoredSignals(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const mask = BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
  const signals: number[] = [];
  for (let signal = 1; signal <= 64; signal += 1) {
    if (signal === SIGKILL || signal === SIGSTOP) continue;
    if ((mask >> BigInt(signal - 1)) & 1n) signals.push(signal);
  }
  return signals;
}
