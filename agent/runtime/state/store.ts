/*
 * Where containers are remembered: one directory per container under the state root
 * (/var/lib/containers-lab/containers/<id>, or CONTAINERS_LAB_ROOT), holding state.json (this
 * record), config.json (the OCI document it was made from), its overlay's upper/work dirs and
 * its log. Writes go to a temporary file renamed into place, so a crash never leaves half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupRecord, ContainerStatus, NamespaceType, NetworkRecord, OciSpec, RootfsRecord } from '../../protocol';

export interface ContainerState {
  id: string;
  name: string;
  status: ContainerStatus;
  pid: number | null;
  /** Start time of `pid` (field 22 of /proc/<pid>/stat): tells our process from a recycled PID. */
  pidStartTime: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  image: string;
  hostname: string | null;
  /** Namespaces the container owns; the others it shares with the host. */
  namespaces: NamespaceType[];
  rootfs: RootfsRecord | null;
  cgroup: CgroupRecord | null;
  network: NetworkRecord;
  logPath: string;
}

export const DEFAULT_STATE_ROOT = '/var/lib/containers-lab';

export function stateRootFromEnv(): string {
  return process.env.CONTAINERS_LAB_ROOT || DEFAULT_STATE_ROOT;
}

export class StateStore {
  readonly containersDir: string;

  constructor(readonly root: string) {
    this.containersDir = join(root, 'containers');
    mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
  }

  directory(id: string): string {
    return join(this.containersDir, id);
  }

  create(state: ContainerState, config: OciSpec): void {
    mkdirSync(this.directory(state.id), { mode: 0o700 });
    writeAtomically(join(this.directory(state.id), 'config.json'), JSON.stringify(config, null, 2));
    this.save(state);
  }

  save(state: ContainerState): void {
    writeAtomically(join(this.directory(state.id), 'state.json'), JSON.stringify(state, null, 2));
  }

  load(id: string): ContainerState | null {
    try {
      return JSON.parse(readFileSync(join(this.directory(id), 'state.json'), 'utf8')) as ContainerState;
    } catch {
      return null;
    }
  }

  config(id: string): OciSpec {
    return JSON.parse(readFileSync(join(this.directory(id), 'config.json'), 'utf8')) as OciSpec;
  }

  ids(): string[] {
    return existsSync(this.containersDir) ? readdirSync(this.containersDir).filter((entry) => /^[0-9a-f]{12,64}$/.test(entry)) : [];
  }

  remove(id: string): void {
    rmSync(this.directory(id), { recursive: true, force: true });
  }
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}
