/*
 * koffi for containers-lab-runc (build.mjs copies this file to dist/agent/ and points the runtime
 * bundle's `import koffi from 'koffi'` here).
 *
 * koffi's own loader (node_modules/koffi/index.cjs) takes ~10 ms of every runc command: it reads
 * the ELF headers of Node's binary twice to tell glibc from musl, resolves two packages through
 * node_modules, and wraps functions it has deprecated. Its native module alone loads in ~2 ms.
 * So on glibc Linux (every lab VM), this file requires the native module of this architecture by
 * its path, as koffi's loader would pick it, after checking that it is the version of koffi's
 * JavaScript. Anything else — musl, an architecture not shipped, another version, a module that
 * will not load — goes to koffi's own loader, as before. The runtime uses koffi.load, .errno,
 * .address and .view, which are the native module's own functions either way.
 */
'use strict';
const { closeSync, openSync, readSync } = require('node:fs');

/** glibc, musl or unknown: the dynamic loader Node's binary names (its ELF interpreter) is near its start. */
function nodeLibc() {
  const head = Buffer.alloc(4096);
  let fd;
  try {
    fd = openSync(process.execPath, 'r');
    readSync(fd, head, 0, head.length, 0);
  } catch {
    return 'unknown';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const text = head.toString('latin1');
  if (text.includes('/ld-musl-')) return 'musl';
  return text.includes('/ld-linux-') ? 'glibc' : 'unknown';
}

function nativeModule() {
  if (process.platform !== 'linux' || nodeLibc() !== 'glibc') return null;
  try {
    const native = require(`./node_modules/@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`);
    return native.version === require('./node_modules/koffi/package.json').version ? native : null;
  } catch {
    return null;
  }
}

module.exports = nativeModule() ?? require('./node_modules/koffi/index.cjs');
