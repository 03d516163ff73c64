/*
 * Errors a user can act on. A LabError's message is one line that names the problem
 * ("invalid name \"../x\": use letters, digits, '-', '_' and '.'"); the CLI prints it as is and
 * the service returns it as a JSON-RPC error with a matching code. Kernel failures stay
 * KernelErrors (agent/kernel/errors.ts), which name the call.
 */
export type LabErrorKind = 'bad-input' | 'not-found' | 'conflict' | 'unsupported' | 'permission';

export class LabError extends Error {
  readonly kind: LabErrorKind;
  constructor(kind: LabErrorKind, message: string) {
    super(message);
    this.name = 'LabError';
    this.kind = kind;
  }
}

export const badInput = (message: string): LabError => new LabError('bad-input', message);
export const notFound = (message: string): LabError => new LabError('not-found', message);
export const conflict = (message: string): LabError => new LabError('conflict', message);

/**
 * How much of a value the user sent a message may repeat. Enough to recognise it ("invalid name
 * \"../escape\""), never the 7 MiB someone pasted: an error is one line a person reads.
 */
export const ECHO_LIMIT = 40;

/** The first ECHO_LIMIT characters of `text`, and "…" when there was more. */
export function excerpt(text: string, limit = ECHO_LIMIT): string {
  if (text.length <= limit) return text;
  // Never end on half of a surrogate pair: the rest of the message would not encode.
  const cut = /[\ud800-\udbff]$/.test(text.slice(0, limit)) ? limit - 1 : limit;
  return `${text.slice(0, cut)}…`;
}

/**
 * A value the user sent, as a message shows it: a string quoted and escaped as JSON (a newline
 * stays "\n", so the message stays one line) and cut to its first ECHO_LIMIT characters; a number
 * or a boolean as it is; anything else by its kind, never as "[object Object]" or "undefined".
 */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(excerpt(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
