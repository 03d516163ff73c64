/*
 * Every network device on the machine, in every network namespace the caller knows of — what
 * `ip -all netns exec ip link` would show, read straight from rtnetlink.
 *
 * Per namespace: one NETLINK_ROUTE socket created inside it (./../runtime/network/netns.ts), one
 * RTM_GETLINK dump and one RTM_GETADDR dump. That is the whole cost, whatever the number of links.
 *
 * The subtle part is a veth's peer. A link message carries IFLA_LINK, the peer's ifindex, and —
 * when the peer lives in another namespace — IFLA_LINK_NETNSID: a small number naming that
 * namespace, but only from the point of view of the link's own namespace (namespace ids are
 * local, like file descriptors). To turn it into the peer namespace's inode, ask the kernel
 * (RTM_GETNSID with NETNSA_FD = an open file of a candidate namespace) "which id do you give
 * this namespace?". Candidates are tried most-likely first — the namespaces holding a veth at
 * that ifindex whose own IFLA_LINK points back — so usually one question per peer settles it,
 * and a coincidence of ifindex numbers can never produce a wrong answer.
 */
import { fstatSync } from 'node:fs';
import type { LinkRecord } from '../protocol';
import { AF_UNSPEC, IFF_LOOPBACK, IFF_UP, NETNSA_FD, NETNSA_NSID, O_RDONLY, RTM_GETADDR, RTM_GETLINK, RTM_GETNSID } from '../kernel/constants';
import { closeFd, openFile } from '../kernel/files';
import {
  RouteSocket,
  attrS32,
  decodeAddressMessage,
  decodeLinkMessage,
  encodeGenericHeader,
  encodeIfAddr,
  encodeIfInfo,
  messageAttributes,
  u32Attr,
  type LinkMessage,
} from '../kernel/rtnetlink';
import { OWN_NETNS_PATH, netnsPath, openRouteSocketIn } from '../runtime/network/netns';

/** One namespace being listed: its identity, a handle on it, a socket inside it, its links. */
interface NamespaceView {
  inode: number;
  fd: number;
  socket: RouteSocket;
  links: LinkMessage[];
  byIndex: Map<number, LinkMessage>;
  addresses: Map<number, string[]>;
  /** nsid (as this namespace numbers others) → inode, learned lazily. */
  nsids: Map<number, number>;
  /** inodes already asked about through this namespace's socket. */
  asked: Set<number>;
}

/** The `kind` a LinkRecord shows: the driver kind, or what a kind-less device is. */
export function linkKind(link: LinkMessage): string {
  return link.kind ?? (link.flags & IFF_LOOPBACK ? 'loopback' : 'device');
}

/** Dumps a namespace's links and addresses through `socket`. */
export function dumpNamespace(socket: RouteSocket): { links: LinkMessage[]; addresses: Map<number, string[]> } {
  const links = socket.dump('RTM_GETLINK', RTM_GETLINK, encodeIfInfo({ family: AF_UNSPEC })).map(decodeLinkMessage);
  const addresses = new Map<number, string[]>();
  for (const message of socket.dump('RTM_GETADDR', RTM_GETADDR, encodeIfAddr({ family: AF_UNSPEC }))) {
    const address = decodeAddressMessage(message);
    if (!address) continue;
    const list = addresses.get(address.index) ?? [];
    list.push(address.cidr);
    addresses.set(address.index, list);
  }
  return { links, addresses };
}

/** Which id the namespace of `socket` gives the namespace open at `otherFd`; null if none. */
function nsidOf(socket: RouteSocket, otherFd: number): number | null {
  const answer = socket.query('RTM_GETNSID', `netns fd ${otherFd}`, RTM_GETNSID, encodeGenericHeader(AF_UNSPEC), [u32Attr(NETNSA_FD, otherFd)]);
  const nsid = attrS32(messageAttributes(answer, 4).get(NETNSA_NSID));
  return nsid === null || nsid < 0 ? null : nsid;
}

function openView(fd: number, what: string, host: boolean): NamespaceView {
  const socket = host ? new RouteSocket() : openRouteSocketIn(fd, what);
  try {
    const { links, addresses } = dumpNamespace(socket);
    return {
      inode: fstatSync(fd).ino,
      fd,
      socket,
      links,
      byIndex: new Map(links.map((link) => [link.index, link])),
      addresses,
      nsids: new Map(),
      asked: new Set(),
    };
  } catch (error) {
    socket.close();
    throw error;
  }
}

/** The namespace (among `views`) that `view` calls `nsid`, asking the kernel as needed. */
function resolveNsid(view: NamespaceView, nsid: number, link: LinkMessage, views: NamespaceView[]): NamespaceView | null {
  const known = view.nsids.get(nsid);
  if (known !== undefined) return views.find((other) => other.inode === known) ?? null;
  const reciprocal = (other: NamespaceView): boolean => other.byIndex.get(link.link ?? -1)?.link === link.index;
  const candidates = views.filter((other) => other !== view && !view.asked.has(other.inode));
  candidates.sort((a, b) => Number(reciprocal(b)) - Number(reciprocal(a)));
  for (const candidate of candidates) {
    view.asked.add(candidate.inode);
    const id = nsidOf(view.socket, candidate.fd);
    if (id !== null) view.nsids.set(id, candidate.inode);
    if (id === nsid) return candidate;
  }
  return null;
}

function toRecord(view: NamespaceView, link: LinkMessage, views: NamespaceView[]): LinkRecord {
  let peer: LinkRecord['peer'] = null;
  if (link.kind === 'veth' && link.link !== null && link.link > 0) {
    if (link.linkNetnsId === null) {
      peer = { ifindex: link.link, netns: view.inode, name: view.byIndex.get(link.link)?.name };
    } else {
      const peerView = resolveNsid(view, link.linkNetnsId, link, views);
      peer = peerView
        ? { ifindex: link.link, netns: peerView.inode, name: peerView.byIndex.get(link.link)?.name }
        : { ifindex: link.link, netns: null };
    }
  }
  return linkRecord(link, {
    netns: view.inode,
    addresses: view.addresses.get(link.index) ?? [],
    master: link.master !== null ? view.byIndex.get(link.master)?.name ?? null : null,
    peer,
  });
}

/** A decoded link as the protocol shows it, with what only its namespace's view can tell. */
export function linkRecord(
  link: LinkMessage,
  where: { netns: number; addresses: string[]; master: string | null; peer: LinkRecord['peer'] },
): LinkRecord {
  return {
    ifindex: link.index,
    name: link.name,
    kind: linkKind(link),
    mac: link.mac,
    mtu: link.mtu,
    up: (link.flags & IFF_UP) !== 0,
    ...where,
  };
}

/**
 * Every link in the agent's own network namespace and in each namespace of `netnsHolders`
 * (namespace inode → a pid inside it). A holder that has exited meanwhile is skipped.
 */
export function listLinks(netnsHolders: Map<number, number>): LinkRecord[] {
  const views: NamespaceView[] = [];
  try {
    const hostFd = openFile(OWN_NETNS_PATH, O_RDONLY);
    try {
      views.push(openView(hostFd, OWN_NETNS_PATH, true));
    } catch (error) {
      closeFd(hostFd);
      throw error;
    }
    for (const [inode, pid] of netnsHolders) {
      if (views.some((view) => view.inode === inode)) continue;
      let fd: number;
      try {
        fd = openFile(netnsPath(pid), O_RDONLY);
      } catch {
        continue; // the holder exited: its namespace may be gone too
      }
      if (views.some((view) => view.inode === fstatSync(fd).ino)) {
        closeFd(fd);
        continue;
      }
      try {
        views.push(openView(fd, netnsPath(pid), false));
      } catch (error) {
        closeFd(fd);
        throw error;
      }
    }
    return views.flatMap((view) => view.links.map((link) => toRecord(view, link, views)));
  } finally {
    for (const view of views) {
      view.socket.close();
      closeFd(view.fd);
    }
  }
}
