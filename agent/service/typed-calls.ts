/*
 * Typed calls over an RpcConnection: the method name picks the params and result types from the
 * protocol (agent/protocol/methods.ts), so `callMethod(connection, 'container.inspect', { id })`
 * resolves to a ContainerRecord and a missing id is a compile error. Re-exported by ./jsonrpc.ts.
 */
import type { AgentMethod, AgentMethods, AgentNotification, AgentNotifications } from '../protocol';
import type { RequestOptions, RpcConnection } from './jsonrpc';

export type MethodParams<M extends AgentMethod> = AgentMethods[M][0];
export type MethodResult<M extends AgentMethod> = AgentMethods[M][1];

/** A typed request: `callMethod(connection, 'container.inspect', { id })` resolves to a ContainerRecord. */
export function callMethod<M extends AgentMethod>(
  connection: RpcConnection,
  method: M,
  params: MethodParams<M>,
  options?: RequestOptions,
): Promise<MethodResult<M>> {
  return connection.request(method, params, options) as Promise<MethodResult<M>>;
}

/** A typed notification send. */
export function sendNotification<N extends AgentNotification>(
  connection: RpcConnection,
  notification: N,
  params: AgentNotifications[N],
): boolean {
  return connection.notify(notification, params);
}

/** Subscribes to one notification by name with its payload typed. Returns the unsubscribe function. */
export function onAgentNotification<N extends AgentNotification>(
  connection: RpcConnection,
  notification: N,
  listener: (params: AgentNotifications[N]) => void,
): () => void {
  return connection.onNotification((method, params) => {
    if (method === notification) listener(params as AgentNotifications[N]);
  });
}
