/*
 * Signal names as runc's kill takes them: "TERM", "SIGTERM", "sigterm" or a number; and what a
 * foreground run or exec does as the parent it stays: forward signals, then reap its child.
 */
import { constants } from 'node:os';
import { reap, signalProcess } from '../kernel/processes';
import { RuncError } from './errors';

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > 64) throw new RuncError(`unknown signal "${text}"`);
    return number;
  }
  const upper = text.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as keyof typeof constants.signals;
  const number = constants.signals[name];
  if (number === undefined) throw new RuncError(`unknown signal "${text}"`);
  return number;
}

/** What a foreground run or exec passes on to the process it waits for, as runc's signal proxy does. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Passes FORWARDED_SIGNALS this command gets on to `pid`; the returned function stops that. */
export function forwardSignals(pid: number): () => void {
  const forward = (signal: NodeJS.Signals): void => {
    signalProcess(pid, constants.signals[signal]);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return () => {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  };
}

/** Waits for our child `pid` to end and reaps it: its exit code, 128+N for a signal. */
export function waitForChild(pid: number): Promise<number> {
  return new Promise<number>((resolve) => {
    const collect = (): void => {
      const exited = reap(pid, false);
      if (!exited) return;
      process.off('SIGCHLD', collect);
      clearInterval(backstop);
      resolve(exited.code);
    };
    process.on('SIGCHLD', collect);
    // SIGCHLD may have come before the listener: look once now, and now and then after.
    const backstop = setInterval(collect, 1000);
    collect();
  });
}
