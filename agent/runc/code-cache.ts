/*
 * dist/agent/containers-lab-runc.js: loads the runtime's bundle (containers-lab-runc.bundle.js,
 * agent/runc/main.ts bundled by build.mjs) with a V8 code cache, then runs it.
 *
 * Why: every runc command is a new Node process, and compiling the ~0.7 MB bundle is one of the
 * largest costs of its start-up (~20 ms of a lab VM's CPU, as much as `runc start` takes in all).
 * V8 can save the bytecode it compiled as a "code cache" and take it back in a later process
 * instead of compiling again (vm.Script's cachedData; Node 22's module.enableCompileCache does
 * the same, Node 20 has no such switch). A cache made after a command has run also holds the
 * functions that command compiled on the way, so there is one per verb: `create` and `delete`
 * run different code.
 *
 * Robust by construction:
 *   - the cache file's name carries a hash of the bundle's bytes (put here by build.mjs), Node's
 *     version and the architecture: a cache is only ever offered to the bundle it was made from;
 *   - V8 checks the rest (its own version, its flags, the source's length) and rejects a cache
 *     that does not fit — then the bundle is compiled as without one and the cache written anew;
 *   - a cache is written to a temporary file and renamed into place, so a command running at the
 *     same time reads the old one or the new one, whole;
 *   - its bytes carry a CRC-32, checked before V8 sees them: V8 (in a release build) trusts a
 *     cache's contents once its header fits, and bytes damaged on the disk would crash every later
 *     run of that verb; a damaged cache is one that does not fit, compiled past and written anew.
 *     (zlib.crc32 is Node ≥ 20.15's; without it there is no cache.)
 *   - nothing about it can fail a command: an unreadable or unwritable directory (a read-only
 *     install) only means no cache.
 * The cache lives in .code-cache/ beside the bundle; build.mjs starts dist/agent/ afresh.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** Filled in by build.mjs (esbuild `define`): the bundle's file name and the hash of its bytes. */
declare const RUNC_BUNDLE_FILE: string;
declare const RUNC_BUNDLE_HASH: string;

interface RuncBundle {
  main(argv: string[]): Promise<number>;
}

/** The cache's directory, beside the bundle: made on each machine for its Node, never copied to another (the extension's upload skips it). */
export const CODE_CACHE_DIRECTORY = '.code-cache';

/** The verbs that get a code cache of their own; anything else shares "other". */
const VERBS_WITH_OWN_CACHE = new Set(['create', 'start', 'state', 'kill', 'delete', 'run', 'exec', 'pause', 'resume', 'ps', 'list', 'update', 'events']);

/** Which cache a command line uses: its first argument that names a verb (flags' values are never verb names in practice). */
function cacheKey(argv: string[]): string {
  return argv.find((argument) => VERBS_WITH_OWN_CACHE.has(argument)) ?? 'other';
}

function loadBundle(bundlePath: string, cachedData: Buffer | undefined): { bundle: RuncBundle; script: Script } {
  // latin1: build.mjs made sure the bundle is ASCII, which latin1 reads as UTF-8 would, only faster.
  const source = readFileSync(bundlePath, 'latin1');
  // As Node's CommonJS loader wraps a file (Module.wrap): one function of (exports, require, module, …).
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
  const script = new Script(wrapped, { filename: bundlePath, ...(cachedData ? { cachedData } : {}) });
  const compiled = script.runInThisContext() as (...args: unknown[]) => void;
  const bundleModule = { exports: {} as RuncBundle };
  // This file's own require: the bundle lies beside it, so both resolve alike (node:module's createRequire costs a module load).
  compiled.call(bundleModule.exports, bundleModule.exports, require, bundleModule, bundlePath, __dirname);
  return { bundle: bundleModule.exports, script };
}

/** zlib.crc32, where this Node has it (20.15 and later). */
function crc32Function(): ((data: Uint8Array) => number) | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only here, and only for this
  const zlib = require('node:zlib') as { crc32?: (data: Uint8Array) => number };
  return typeof zlib.crc32 === 'function' ? zlib.crc32 : null;
}

/** The cache's V8 bytes if the file holds them whole: a big-endian CRC-32 of the rest, then the rest. */
function readCache(path: string, crc32: (data: Uint8Array) => number): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  if (file.length <= 4) return undefined;
  const data = file.subarray(4);
  return crc32(data) === file.readUInt32BE(0) ? data : undefined;
}

function writeCache(directory: string, path: string, script: Script, crc32: (data: Uint8Array) => number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(directory, { recursive: true, mode: 0o755 });
    const data = script.createCachedData();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(crc32(data));
    writeFileSync(temporary, Buffer.concat([header, data]), { mode: 0o644 });
    renameSync(temporary, path);
  } catch {
    // no cache this time (read-only install, full disk): the next command compiles again
    rmSync(temporary, { force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const bundlePath = join(__dirname, RUNC_BUNDLE_FILE);
  const cacheDirectory = join(__dirname, CODE_CACHE_DIRECTORY);
  const cachePath = join(cacheDirectory, `containers-lab-runc-${RUNC_BUNDLE_HASH}-${process.version}-${process.arch}-${cacheKey(argv)}.bin`);
  const crc32 = crc32Function();
  const cachedData = crc32 ? readCache(cachePath, crc32) : undefined;
  const { bundle, script } = loadBundle(bundlePath, cachedData);
  const code = await bundle.main(argv);
  // After the command, so that the cache holds what it compiled on the way.
  if (crc32 && (!cachedData || script.cachedDataRejected)) writeCache(cacheDirectory, cachePath, script, crc32);
  return code;
}
