/*
 * Check "node-sysctl": a kernel parameter of a lab node (../nodes.ts), as its own network
 * namespace sees it. The files under /proc/sys/net show the values of the reader's network
 * namespace, so the file is read by `cat` entered into the node's namespace (nsenter --net):
 * net.ipv4.ip_forward there is that node's, not the lab host's. However it was written
 * (sysctl -w, echo into /proc/sys), the kernel holds one value.
 */
import { execFile } from 'node:child_process';
import { sysctlPath } from '../../runtime/sysctl';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { labNode } from '../nodes';
import { CheckFailed, failIf } from './outcome';

export async function checkNodeSysctl(params: CheckParamsByKind['node-sysctl'], context: LabContext): Promise<void> {
  const netns = labNode(context.workdir, params.node)?.netns;
  if (!netns) throw new CheckFailed(`no lab node ${params.node}`);
  const path = sysctlPath(params.key);
  if (path === null) throw new CheckFailed(`"${params.key}" is not a sysctl name`);
  const value = await new Promise<string>((resolve, reject) => {
    execFile('nsenter', [`--net=/run/netns/${netns}`, 'cat', `/proc/sys/${path}`], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new CheckFailed(`reading ${params.key} on node ${params.node}: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
  failIf(value !== params.value, `node ${params.node} has ${params.key} = ${value}`);
}
