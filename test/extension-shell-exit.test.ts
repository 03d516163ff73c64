/*
 * How a container shell's end is reported (extension/terminal/shell-exit.ts): a shell killed
 * because its container was stopped or removed closes quietly (no exit code, so no error toast);
 * a shell that ends on its own reports its code. Real timers; the grace period is shortened.
 */
import { describe, expect, it } from 'vitest';
import { CONTAINER_END_GRACE_MS, isEndedStatus, ShellEndArbiter, type ShellEnd } from '../extension/terminal/shell-exit';

const GRACE = 60;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function arbiter(): { arbiter: ShellEndArbiter; ends: ShellEnd[] } {
  const ends: ShellEnd[] = [];
  return { arbiter: new ShellEndArbiter((end) => ends.push(end), GRACE), ends };
}

describe('ShellEndArbiter', () => {
  it('reports a shell\'s own `exit 3` at once', () => {
    const { arbiter: a, ends } = arbiter();
    a.shellExited(3);
    expect(ends).toEqual([{ kind: 'exit', code: 3 }]);
  });

  it('reports exit 0 at once', () => {
    const { arbiter: a, ends } = arbiter();
    a.shellExited(0);
    expect(ends).toEqual([{ kind: 'exit', code: 0 }]);
  });

  it('SIGKILL (137) followed by the container\'s removal closes quietly, without waiting for the grace period', async () => {
    const { arbiter: a, ends } = arbiter();
    a.shellExited(137);
    expect(ends).toEqual([]);
    await sleep(5);
    a.containerEnded('stopped');
    expect(ends).toEqual([{ kind: 'container-ended', how: 'stopped' }]);
    a.containerEnded('removed');
    await sleep(GRACE * 2);
    expect(ends).toHaveLength(1);
  });

  it('the container\'s end arriving first also closes quietly, whatever the code', () => {
    const { arbiter: a, ends } = arbiter();
    a.containerEnded('removed');
    expect(ends).toEqual([]);
    a.shellExited(137);
    expect(ends).toEqual([{ kind: 'container-ended', how: 'removed' }]);
  });

  it('a signal death with the container still up (kill -9 $$) reports 137 after the grace period', async () => {
    const { arbiter: a, ends } = arbiter();
    const started = Date.now();
    a.shellExited(137);
    await sleep(GRACE + 40);
    expect(ends).toEqual([{ kind: 'exit', code: 137 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE);
  });

  it('decides nothing once disposed (the user closed the terminal)', async () => {
    const { arbiter: a, ends } = arbiter();
    a.shellExited(137);
    a.dispose();
    a.containerEnded('removed');
    await sleep(GRACE + 40);
    expect(ends).toEqual([]);
  });

  it('waits about a second by default and only "stopped" counts as ended', () => {
    expect(CONTAINER_END_GRACE_MS).toBe(1_000);
    expect(isEndedStatus('stopped')).toBe(true);
    for (const status of ['running', 'paused', 'created', 'creating'] as const) expect(isEndedStatus(status)).toBe(false);
  });
});
