/*
 * A look at a JSON-RPC line before it is parsed: how deep it nests, and its top-level "id" and
 * "method".
 *
 * JSON.parse itself copes with 100 000 nested arrays (V8 parses without recursion), but almost
 * everything after it recurses — JSON.stringify, structuredClone, a schema check — and dies with
 * "Maximum call stack size exceeded"; a few million brackets also keep the parser busy for
 * seconds. So the nesting is measured on the text first, in one pass that never recurses, and a
 * line that nests too deep is refused without being parsed at all. The same pass finds the id (and
 * the method, for the message), so the refusal goes to the request that caused it: a client never
 * waits for an answer that cannot come.
 */
import { excerpt } from '../errors';
import { RpcErrorCode } from '../protocol';

export type ScannedId = string | number;

export interface JsonScan {
  /**
   * Where the text first nests deeper than allowed, as the keys and indexes leading there
   * (the first few: ["params", "name", 0, 0, …]); null when it does not.
   */
  tooDeep: (string | number)[] | null;
  /** The top-level "id" when the text is an object whose id is a string or a number. */
  id: ScannedId | null;
  /** The top-level "method" when it is a string of reasonable length. */
  method: string | null;
}

/** How many leading segments of a too-deep path are kept: enough to name the field. */
const PATH_SEGMENTS = 8;
/** An id or method longer than this is not decoded: neither is worth quoting. */
const MAX_CAPTURE = 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Scans `text` in one pass. Never throws, never recurses. */
export function scanJson(text: string, maxDepth: number): JsonScan {
  const result: JsonScan = { tooDeep: null, id: null, method: null };
  // Per level (1 = the top container): is it an array, its current index, its current key.
  const isArray: boolean[] = [];
  const index: number[] = [];
  const key: (string | null)[] = [];
  let expectingKey = false;
  let depth = 0;
  let rootIsObject = false;
  let capturing: 'id' | 'method' | null = null;
  let captureStart = -1;

  const finishCapture = (end: number): void => {
    if (capturing && captureStart >= 0 && end - captureStart <= MAX_CAPTURE) {
      const value = parseSmall(text.slice(captureStart, end));
      if (capturing === 'id' && (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) result.id = value;
      if (capturing === 'method' && typeof value === 'string') result.method = value;
    }
    capturing = null;
    captureStart = -1;
  };

  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      const end = stringEnd(text, at);
      if (expectingKey && depth >= 1 && depth <= PATH_SEGMENTS) {
        key[depth] = end - at <= MAX_CAPTURE ? (parseSmall(text.slice(at, end + 1)) as string | null) : '…';
        if (depth === 1 && rootIsObject && (key[1] === 'id' || key[1] === 'method')) capturing = key[1];
      }
      expectingKey = false;
      at = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth += 1;
      if (depth === 1) rootIsObject = code === OPEN_OBJECT;
      if (depth > maxDepth && result.tooDeep === null) result.tooDeep = pathTo(isArray, index, key, depth - 1);
      if (depth <= PATH_SEGMENTS) {
        isArray[depth] = code === OPEN_ARRAY;
        index[depth] = 0;
        key[depth] = null;
      }
      expectingKey = code === OPEN_OBJECT;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      if (depth === 1) finishCapture(at);
      depth = Math.max(0, depth - 1);
      expectingKey = false;
    } else if (code === COMMA) {
      if (depth === 1) finishCapture(at);
      // Keys matter only where paths are kept; deeper down, a comma changes nothing we track.
      const tracked = depth >= 1 && depth <= PATH_SEGMENTS;
      if (tracked) index[depth] = (index[depth] ?? 0) + 1;
      expectingKey = tracked && !isArray[depth];
    } else if (code === COLON) {
      if (depth === 1 && capturing) captureStart = at + 1;
    }
  }
  return result;
}

/** The index of the quote that ends the string starting at `start` (or the text's end). */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length - 1;
    let backslashes = 0;
    for (let at = quote - 1; at > start && text.charCodeAt(at) === BACKSLASH; at -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function pathTo(isArray: boolean[], index: number[], key: (string | null)[], levels: number): (string | number)[] {
  const path: (string | number)[] = [];
  for (let level = 1; level <= Math.min(levels, PATH_SEGMENTS); level += 1) {
    path.push(isArray[level] ? (index[level] ?? 0) : (key[level] ?? '…'));
  }
  if (levels > PATH_SEGMENTS) path.push('…');
  return path;
}

function parseSmall(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The answer to a line that nests too deep: -32602 naming the parameter when that is where, else -32600. */
export function tooDeepError(scan: JsonScan, maxDepth: number): { code: number; message: string } {
  const path = scan.tooDeep ?? [];
  const levels = `nests arrays and objects deeper than ${maxDepth} levels`;
  if (path[0] !== 'params' || path.length < 2) return { code: RpcErrorCode.InvalidRequest, message: `invalid request: the message ${levels}` };
  const shown = path.slice(1).reduce<string>((text, segment, at) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    if (segment === '…' && at === path.length - 2) return `${text}…`;
    const name = JSON.stringify(excerpt(segment)).slice(1, -1);
    return text === '' ? name : `${text}.${name}`;
  }, '');
  const method = scan.method === null ? 'invalid params' : JSON.stringify(excerpt(scan.method)).slice(1, -1);
  return { code: RpcErrorCode.InvalidParams, message: `${method}: parameter "${shown}" ${levels}` };
}
