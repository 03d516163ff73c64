/*
 * What the runtime offers to the service and the CLI. One implementation (./runtime.ts) does
 * the kernel work; the JSON-RPC service and the standalone CLI are both thin callers of it.
 */
import type { EventEmitter } from 'node:events';
import type {
  AgentInfo,
  AgentNotifications,
  ContainerRecord,
  ContainerSummary,
  ExecOptions,
  HostSnapshot,
  PathLayer,
  RunOptions,
} from '../protocol';
import type { ContainerLayerStack } from '../inspect/container-files';
import type { RuntimeImages } from './images';

export interface ExecSession {
  readonly id: string;
  readonly pid: number;
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Closes stdin (and the terminal for TTY sessions). */
  close(): void;
  /** Signals the process (a no-op once it has exited: its PID is never reused while we hold it). */
  kill(signal: NodeJS.Signals): void;
  onOutput(listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  onExit(listener: (code: number) => void): void;
}

export interface LogFollower {
  dispose(): void;
}

/** Events carry exactly the notification payloads of the protocol. */
export type RuntimeEvents = {
  [K in keyof AgentNotifications]: [AgentNotifications[K]];
};

export interface ContainerRuntime {
  readonly events: EventEmitter<RuntimeEvents>;
  /** Pulled and imported images, and which containers stand on their layers. */
  readonly images: RuntimeImages;
  info(): AgentInfo;
  run(options: RunOptions): Promise<ContainerRecord>;
  start(id: string): Promise<ContainerRecord>;
  list(): ContainerSummary[];
  inspect(id: string): ContainerRecord;
  /** The full id of the container a name or id prefix names (throws as inspect does). */
  resolveId(idOrName: string): string;
  stop(id: string, timeoutSeconds?: number): Promise<ContainerRecord>;
  pause(id: string): ContainerRecord;
  resume(id: string): ContainerRecord;
  remove(id: string, force?: boolean): Promise<void>;
  logs(id: string): Buffer;
  /** Which overlay layer a path inside the container's root comes from. */
  pathLayer(id: string, path: string): PathLayer;
  /** A container's overlay and the image layer behind each lower dir (aligned with rootfs.lower). */
  layerStack(id: string): ContainerLayerStack;
  /** Streams what is appended to the log from `fromOffset` (default: its current end). */
  followLogs(id: string, onData: (data: Buffer) => void, fromOffset?: number): LogFollower;
  exec(options: ExecOptions): ExecSession;
  snapshot(): HostSnapshot;
  /** Stops watching (containers keep running). */
  close(): void;
}
