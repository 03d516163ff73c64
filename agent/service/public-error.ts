/*
 * What a peer is told when a request fails.
 *
 * Errors the agent means — a LabError ("invalid name …"), a KernelError naming the system call, an
 * RpcError from the parameter check — keep their words and get their protocol code. Anything else
 * is a bug in the agent: its JavaScript message ("Cannot read properties of undefined") says
 * nothing to the person at the other end and something about the agent's insides, so the stack
 * goes to the agent's log and the peer gets one fixed line pointing there.
 *
 * Every message then passes ./error-text.ts: one line, at most 300 characters, and no more than
 * 40 characters of anything the request carried (deeper code sometimes quotes an id whole).
 */
import { ECHO_LIMIT, LabError } from '../errors';
import type { LabErrorKind } from '../errors';
import { KernelError } from '../kernel/errors';
import { RpcErrorCode } from '../protocol';
import { boundedMessage, longStringsIn, withoutEchoes } from './error-text';
import { RpcError } from './jsonrpc';

export const INTERNAL_ERROR_MESSAGE = "internal error (see the agent's log)";

const codeForKind: Record<LabErrorKind, number> = {
  'bad-input': RpcErrorCode.BadInput,
  'not-found': RpcErrorCode.NotFound,
  conflict: RpcErrorCode.Conflict,
  unsupported: RpcErrorCode.BadInput,
  permission: RpcErrorCode.BadInput,
};

/** Turns anything a handler threw into the JSON-RPC error the peer receives (one line). */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof LabError) return new RpcError(codeForKind[error.kind], boundedMessage(error.message), { kind: error.kind });
  if (error instanceof KernelError) {
    return new RpcError(RpcErrorCode.KernelError, boundedMessage(error.message), { call: error.call, target: error.target, errno: error.code });
  }
  return new RpcError(RpcErrorCode.InternalError, INTERNAL_ERROR_MESSAGE);
}

/**
 * The error to answer `method` with, its message free of long echoes of `params`. A bug (not an
 * RpcError, LabError or KernelError) is logged with its stack first.
 */
export function publicError(error: unknown, method: string, params: unknown, log: (line: string) => void): RpcError {
  const rpcError = toRpcError(error);
  if (rpcError.code === RpcErrorCode.InternalError && !(error instanceof RpcError)) {
    log(`${boundedMessage(method)} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  const scrub = (text: string): string => boundedMessage(text.length > ECHO_LIMIT ? withoutEchoes(text, [method, ...longStringsIn(params)]) : text);
  let data = rpcError.data;
  if (error instanceof KernelError) data = { call: error.call, target: scrub(error.target), errno: error.code };
  return new RpcError(rpcError.code, scrub(rpcError.message), data);
}
