/*
 * pause ID / resume ID: the cgroup freezer (../runtime/lifecycle/pause.ts). Only a running
 * container can be paused and only a paused one resumed — runc's "container not running" and
 * "container not paused" otherwise.
 */
import { pauseContainer, resumeContainer } from '../runtime/lifecycle/pause';
import { RuncError } from './errors';
import { parseFlags, requireId } from './flags';
import type { Invocation } from './verb';

export async function pause(invocation: Invocation): Promise<number> {
  return freezer(invocation, 'pause');
}

export async function resume(invocation: Invocation): Promise<number> {
  return freezer(invocation, 'resume');
}

async function freezer(invocation: Invocation, verb: 'pause' | 'resume'): Promise<number> {
  const id = requireId(verb, parseFlags(invocation.args, []).positionals);
  const { root } = invocation;
  root.lock(id);
  const container = root.load(id);
  if (verb === 'pause' && container.status !== 'running') throw new RuncError('container not running');
  if (verb === 'resume' && container.status !== 'paused') throw new RuncError('container not paused');
  const cgroup = root.cgroupOf(container.state);
  if (!cgroup) throw new RuncError(`container ${id} has no cgroup`);
  if (verb === 'pause') pauseContainer(container.state, cgroup);
  else resumeContainer(container.state, cgroup);
  root.context.store.save(container.state);
  return 0;
}
