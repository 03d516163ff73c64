/*
 * Where a lab's daemons keep their files: in the lab's directory, so that teardown finds their
 * PID files after any crash, and removing the lab's directory removes them too. The registry's
 * are hidden (`.registry/`: nothing there for the learner); containerd's are the node's
 * (`containerd/`: its config.toml is the learner's to read and repair).
 */
import { join } from 'node:path';
import type { LabContext } from '../context';

export function labDaemonDirectory(context: Pick<LabContext, 'workdir'>, name: 'registry' | 'containerd'): string {
  return join(context.workdir, name === 'registry' ? '.registry' : 'containerd');
}
