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
  HostContainers,
  HostSnapshot,
  OciSpec,
  PathLayer,
  RunOptions,
} from '../protocol';
import type { ContainerLayerStack } from '../inspect/container-files';
import type { RuntimeImages } from './images';
import type { RuntimeNodes } from './nodes';

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

/**
 * Changes a drafted config.json before it is checked and realised: the pod engine (agent/pods/)
 * places a pod's containers in the kubelet's cgroups and mounts its /etc/hosts this way, so every
 * container is still made by the one path (draft → validate → create).
 */
export type SpecAmendment = (spec: OciSpec) => OciSpec;

export interface ContainerRuntime {
  readonly events: EventEmitter<RuntimeEvents>;
  /** Pulled and imported images, and which containers stand on their layers. */
  readonly images: RuntimeImages;
  /** This node's peers and how its containers reach theirs (./network/nodes/). */
  readonly nodes: RuntimeNodes;
  info(): AgentInfo;
  run(options: RunOptions, amend?: SpecAmendment): Promise<ContainerRecord>;
  /** A pod's sandbox: found running, or made now with the network (net, bridge, subnet) of `options`. */
  podSandbox(pod: string, options: RunOptions, amend?: SpecAmendment): Promise<ContainerRecord>;
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
  /** Every container on the host, whoever made it; `roots`: more OCI runtime --root directories to read. */
  hostContainers(roots?: string[]): HostContainers;
  /** Stops watching (containers keep running). */
  close(): void;
}
