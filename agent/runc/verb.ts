/*
 * What every verb gets: its own arguments (after the verb word), the state root and the log the
 * global flags chose. A verb returns the exit code; a RuncError becomes one line and exit 1.
 */
import type { RuncLog } from './log';
import type { RuncRoot } from './root';

export interface Invocation {
  args: string[];
  /** The state root (--root), opened on first use. */
  readonly root: RuncRoot;
  log: RuncLog;
  /** --systemd-cgroup was given (refused where systemd is not running). */
  systemdCgroup: boolean;
}

export type Verb = (invocation: Invocation) => Promise<number>;
