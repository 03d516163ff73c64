/*
 * Signal names as runc's kill takes them: "TERM", "SIGTERM", "sigterm" or a number.
 */
import { constants } from 'node:os';
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
