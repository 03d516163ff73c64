/*
 * cpuset: which CPUs and which memory (NUMA) nodes a container's processes may use —
 * config.json's linux.resources.cpu.cpus ("0-1", "0,2") and cpu.mems ("0").
 *
 * The files, both versions: cpuset.cpus and cpuset.mems, in the list syntax above.
 *
 * cgroup v1 — the classic trap: a new cpuset cgroup starts with EMPTY cpuset.cpus and
 * cpuset.mems, and the kernel refuses to put any task into a cpuset with no CPU or no memory node
 * (the write to cgroup.procs fails with ENOSPC: the task would have nowhere to run). So every
 * cpuset cgroup made on the way — containers-lab/, each cgroup of a linux.cgroupsPath, the
 * container's own — must be filled before a task can join it, top down, because a child may only
 * hold CPUs and nodes its parent holds (cpuset.cpus must be a subset of the parent's). runc does
 * the same copy from the parent; `cgroup.clone_children` = 1 on the parent would make the kernel
 * do it, but that is a setting of someone else's cgroup. The container's requested values are
 * written after the fill (../cgroups/resource-files.ts), and refused by the kernel (EINVAL) when
 * they name a CPU the parent does not have.
 *
 * cgroup v2: the controller must be enabled ("+cpuset" in each parent's cgroup.subtree_control,
 * as for every v2 controller), and an empty cpuset.cpus means "whatever the parent has" — the
 * kernel shows the result in cpuset.cpus.effective — so nothing needs filling; the requested
 * values are written into the container's cgroup as they are (Documentation/admin-guide/cgroup-v2.rst,
 * "Cpuset").
 *
 * The cpuset hierarchy is joined only by containers whose config.json asks for cpus or mems: the
 * others keep running wherever the agent runs, with one hierarchy less to move into.
 */
import * as path from 'node:path';
import { readOptional, writeCgroupFile } from './cgroupfs';

/** v1 controllers a container cgroup is made in only when its document needs them. */
export const V1_ON_DEMAND = ['cpuset'];

const FILLED_FROM_PARENT = ['cpuset.cpus', 'cpuset.mems'];

/**
 * v1: fills the empty cpuset.cpus and cpuset.mems of `directory` and of every cgroup between
 * `floor` (the agent's own cpuset cgroup, which is filled) and it, from each one's parent.
 */
export function fillCpusetFromParents(directory: string, floor: string): void {
  const chain: string[] = [];
  for (let dir = directory; dir.startsWith(`${floor}/`); dir = path.dirname(dir)) chain.unshift(dir);
  for (const dir of chain) {
    for (const file of FILLED_FROM_PARENT) {
      if ((readOptional(path.join(dir, file)) ?? '').trim() !== '') continue;
      const inherited = (readOptional(path.join(path.dirname(dir), file)) ?? '').trim();
      writeCgroupFile(path.join(dir, file), inherited);
    }
  }
}
