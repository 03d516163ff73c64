/*
 * A few of Node's own modules, loaded on first use instead of at start-up.
 *
 * containers-lab-runc is a new Node process for every command containerd's shim runs (create,
 * start, state, delete…), so what its modules require at load time is paid each time. node:crypto
 * (with the stream modules it pulls in), node:child_process (with net and dgram) and
 * node:fs/promises cost ~15–20 ms together to load on a lab VM, and most commands need none of
 * them: a container gets a random MAC only on a bridge, a hook's output file only when it has
 * hooks, nft runs only for published ports. Importing these functions from here instead of from
 * the node: module keeps that cost where the call is.
 */
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import { rm as rmCallback, unlink as unlinkCallback, type RmOptions } from 'node:fs';

/* eslint-disable @typescript-eslint/no-require-imports -- require() on first call is the point */
const cryptoModule = (): typeof Crypto => require('node:crypto') as typeof Crypto;
const childProcess = (): typeof ChildProcess => require('node:child_process') as typeof ChildProcess;
/* eslint-enable @typescript-eslint/no-require-imports */

export function randomBytes(size: number): Buffer {
  return cryptoModule().randomBytes(size);
}

export function createHash(algorithm: string): Crypto.Hash {
  return cryptoModule().createHash(algorithm);
}

// spawnSync keeps its overloads (what it returns depends on `encoding`).
export const spawnSync = ((...args: unknown[]) => (childProcess().spawnSync as (...all: unknown[]) => unknown)(...args)) as typeof ChildProcess.spawnSync;

// node:fs/promises loads ~10 more modules (readline's among them) for two calls; node:fs's
// callback forms, loaded already, run in the same libuv thread pool and settle alike.
export function unlink(path: string): Promise<void> {
  return new Promise((resolve, reject) => unlinkCallback(path, (error) => (error ? reject(error) : resolve())));
}

export function rm(path: string, options: RmOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => rmCallback(path, options, (error) => (error ? reject(error) : resolve())));
}
