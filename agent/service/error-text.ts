/*
 * What an error message sent to a peer may look like: one line a person can read.
 *
 * The code that throws names the problem and quotes at most 40 characters of the input
 * (agent/errors.ts `quote`). These are the rules enforced once more on the way out, for the
 * messages that come from deeper code with its own habits (a raw `"${id}"` holding a newline or
 * seven megabytes): control characters are escaped as JSON escapes them, any run of more than
 * ECHO_LIMIT characters copied from the request is cut to its prefix and "…", and the whole
 * message is cut to MAX_ERROR_MESSAGE characters.
 */
import { ECHO_LIMIT, excerpt } from '../errors';

export const MAX_ERROR_MESSAGE = 300;

/** Strings of the request long enough to matter, found without recursion (the request may be deep). */
const MAX_INPUTS = 2000;

/** Newlines, NUL, the other C0 controls, DEL and the two Unicode line separators, as JSON writes them. */
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

export function oneLine(text: string): string {
  return text.replace(CONTROL, (char) => {
    const escaped = JSON.stringify(char).slice(1, -1);
    // JSON.stringify leaves DEL, U+2028 and U+2029 as they are: those get \uXXXX.
    return escaped !== char ? escaped : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** At most MAX_ERROR_MESSAGE characters, one line. */
export function boundedMessage(text: string): string {
  const line = oneLine(text.trim());
  return line.length <= MAX_ERROR_MESSAGE ? line : excerpt(line, MAX_ERROR_MESSAGE - 1);
}

/** Every string of `value` (keys too) longer than ECHO_LIMIT, longest first. */
export function longStringsIn(value: unknown): string[] {
  const found: string[] = [];
  const stack: unknown[] = [value];
  let visited = 0;
  while (stack.length > 0 && visited < 100_000 && found.length < MAX_INPUTS) {
    const item = stack.pop();
    visited += 1;
    if (typeof item === 'string') {
      if (item.length > ECHO_LIMIT) found.push(item);
    } else if (Array.isArray(item)) {
      for (const inner of item) stack.push(inner);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, inner] of Object.entries(item)) {
        if (key.length > ECHO_LIMIT) found.push(key);
        stack.push(inner);
      }
    }
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * `message` with every copy of more than ECHO_LIMIT characters of an input cut to its first
 * ECHO_LIMIT and "…" — as written, and as JSON.stringify writes it.
 */
export function withoutEchoes(message: string, inputs: readonly string[]): string {
  let text = message;
  for (const input of inputs) {
    text = cutRuns(text, input);
    text = cutRuns(text, JSON.stringify(input).slice(1, -1));
  }
  return text;
}

/** Finds each place where `input`'s first ECHO_LIMIT + 1 characters appear and cuts the copied run. */
function cutRuns(text: string, input: string): string {
  const probe = input.slice(0, ECHO_LIMIT + 1);
  if (probe.length <= ECHO_LIMIT) return text;
  let result = text;
  for (let at = result.indexOf(probe); at !== -1; at = result.indexOf(probe, at + 1)) {
    let length = probe.length;
    while (at + length < result.length && length < input.length && result[at + length] === input[length]) length += 1;
    const shortened = excerpt(input.slice(0, length));
    result = result.slice(0, at) + shortened + result.slice(at + length);
  }
  return result;
}
