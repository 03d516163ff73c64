/*
 * What the extension remembers about this workspace's lab VM (in workspaceState, so it survives a
 * window reload): the node it was connected to last, and the SSH endpoint (host:port) of every
 * node it has connected to.
 *
 * - The last node: a multi-node lab that is stopped and started again ("Stop Lab VM", "Start Lab
 *   VM") reconnects to the node the learner was using, without asking which.
 * - The endpoints: host keys are pinned per host:port (../connection/host-keys.ts). A destroyed VM
 *   takes its host keys with it, and the next one makes new keys — often at the same address
 *   (VirtualBox forwards 127.0.0.1:2222 for every VM; libvirt's DHCP may hand out the same lease).
 *   The old pin would then refuse the new VM as "host key changed". "Destroy Lab VM" knows the VM
 *   is gone, so it forgets those pins; a VM destroyed by other means still gets the refusal and
 *   its hint, which is what pinning is for.
 */
import type * as vscode from 'vscode';
import { pinKey } from '../connection/host-keys';
import type { LabTarget } from '../connection/types';

const LAST_NODE_KEY = 'containersLab.labVm.lastNode';
const ENDPOINTS_KEY = 'containersLab.labVm.endpoints';

export class LabVmMemory {
  constructor(private readonly state: vscode.Memento) {}

  /** The label of the node connected to last ("lab VM (vagrant: lab2)"), if any. */
  lastNode(): string | undefined {
    return this.state.get<string>(LAST_NODE_KEY);
  }

  /** Every node's pin name (host:port) connected to since the VM was made. */
  endpoints(): string[] {
    return this.state.get<string[]>(ENDPOINTS_KEY, []);
  }

  /** Called for every connection to a node of the lab VM. */
  async connectedTo(target: LabTarget): Promise<void> {
    await this.state.update(LAST_NODE_KEY, target.label);
    if (target.host === undefined) return;
    const endpoint = pinKey(target.host, target.port ?? 22);
    if (!this.endpoints().includes(endpoint)) await this.state.update(ENDPOINTS_KEY, [...this.endpoints(), endpoint]);
  }

  /** The VM is destroyed: nothing of it is worth remembering. Returns the endpoints it had. */
  async forgetVm(): Promise<string[]> {
    const endpoints = this.endpoints();
    await this.state.update(LAST_NODE_KEY, undefined);
    await this.state.update(ENDPOINTS_KEY, undefined);
    return endpoints;
  }
}
