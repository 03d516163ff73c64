/*
 * Where the agent's Unix socket is. Kept apart from the service itself: the extension and the
 * client need only this path, not the runtime (which loads koffi, a native module the VS Code
 * extension host must never load).
 */
export const DEFAULT_SOCKET_PATH = '/run/containers-lab/agent.sock';

/** The socket path from the environment (CONTAINERS_LAB_SOCKET) or the default. */
export function defaultSocketPath(): string {
  return process.env.CONTAINERS_LAB_SOCKET || DEFAULT_SOCKET_PATH;
}
