/*
 * Deliberate network faults for troubleshooting exercises, made by the agent over rtnetlink —
 * the same messages `ip link set … down`, `ip route del default`, `ip link set … master` and
 * `ip link set … mtu` send. The agent acts from outside the container (it opens a route socket inside the
 * container's network namespace), so the fault needs no capability the container may lack.
 */
import { AF_INET, IFF_UP, RTM_DELROUTE, RTM_NEWLINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../../kernel/constants';
import { encodeIfInfo, encodeRouteInfo } from '../../kernel/rtnetlink';
import { badInput } from '../../errors';
import { ensureBridge } from '../../runtime/network/bridge';
import { gatewayOf, parseSubnet } from '../../runtime/network/addresses';
import { findLink, setLinkMtu, setMasterAndUp } from '../../runtime/network/interfaces';
import { withHostSocket, withNetnsOf } from '../../runtime/network/netns';
import type { RouteSocket } from '../../kernel/rtnetlink';
import type { NetworkFault } from '../format';
import type { LabContext } from '../context';

/** `ip link set NAME down` */
function setLinkDown(socket: RouteSocket, name: string): void {
  const link = findLink(socket, name);
  if (!link) throw badInput(`no link ${name} to set down`);
  socket.request('RTM_NEWLINK set down', name, RTM_NEWLINK, 0, encodeIfInfo({ index: link.index, flags: 0, change: IFF_UP }));
}

/** `ip route del default` in the socket's namespace. */
function deleteDefaultRoute(socket: RouteSocket, where: string): void {
  socket.request('RTM_DELROUTE default', where, RTM_DELROUTE, 0,
    encodeRouteInfo({ family: AF_INET, dstLength: 0, table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE }));
}

export function injectFault(fault: NetworkFault, context: LabContext): void {
  const record = context.runtime.inspect(fault.container);
  if (record.pid === null) throw badInput(`fault: container "${fault.container}" is not running`);
  const vethHost = record.network.vethHost;
  switch (fault.kind) {
    case 'link-down':
      if (fault.side === 'container') withNetnsOf(record.pid, (socket) => setLinkDown(socket, record.network.ifname ?? 'eth0'));
      else if (vethHost) withHostSocket((socket) => setLinkDown(socket, vethHost));
      else throw badInput(`fault: "${fault.container}" has no veth pair`);
      return;
    case 'mtu': {
      const set = (socket: RouteSocket, name: string): void => {
        const link = findLink(socket, name);
        if (!link) throw badInput(`fault: no link ${name}`);
        setLinkMtu(socket, link.index, name, fault.mtu);
      };
      if (fault.side === 'container') withNetnsOf(record.pid, (socket) => set(socket, record.network.ifname ?? 'eth0'));
      else if (vethHost) withHostSocket((socket) => set(socket, vethHost));
      else throw badInput(`fault: "${fault.container}" has no veth pair`);
      return;
    }
    case 'delete-default-route':
      withNetnsOf(record.pid, (socket) => deleteDefaultRoute(socket, fault.container));
      return;
    case 'move-to-bridge': {
      if (!vethHost) throw badInput(`fault: "${fault.container}" has no veth pair`);
      const subnet = parseSubnet(fault.subnet);
      withHostSocket((socket) => {
        const { bridge } = ensureBridge(socket, fault.bridge, `${gatewayOf(subnet)}/${subnet.prefixLength}`);
        const veth = findLink(socket, vethHost);
        if (!veth) throw badInput(`fault: no link ${vethHost}`);
        setMasterAndUp(socket, veth.index, vethHost, bridge.index, fault.bridge);
      });
      return;
    }
  }
}
