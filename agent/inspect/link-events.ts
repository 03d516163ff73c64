/*
 * Live link events: the kernel tells listeners about every network-device change in a namespace.
 *
 * A NETLINK_ROUTE socket bound to the multicast groups RTMGRP_LINK and RTMGRP_IPV4_IFADDR receives,
 * unasked, an RTM_NEWLINK for each created or changed device, an RTM_DELLINK for each deleted one,
 * and RTM_NEWADDR/RTM_DELADDR as IPv4 addresses come and go (`ip monitor link address` prints the
 * same stream). The topology view is fed from here instead of polling.
 *
 * How we wait without blocking Node: the socket is not something libuv can watch (Node has no
 * netlink handle type), so the wait is a poll(2) issued through koffi's `.async`, which runs on a
 * libuv thread-pool thread while the event loop stays free; when poll returns, the main thread
 * drains the socket with non-blocking recv and polls again. poll watches a second descriptor, the
 * read end of a pipe: close() writes one byte there, the pending poll returns at once, and only
 * then — when no thread is inside a call on them — are the socket and pipe closed. So close()
 * stops promptly, leaks no descriptor and no thread, and the process can exit.
 * The cost: while watching, one of libuv's thread-pool threads (4 by default, UV_THREADPOOL_SIZE)
 * sits in poll. A worker thread would avoid that but costs a whole V8 isolate (~10 MB).
 *
 * The kernel sends RTM_NEWLINK for a new device and again for every change; a device is reported
 * 'added' the first time its ifindex is seen (the watcher starts from a dump) and 'changed' only
 * when its record actually differs. Messages of family AF_BRIDGE are the bridge's view of its
 * ports (an RTM_DELLINK there means "left the bridge", not "deleted") and are skipped. If the
 * kernel drops events because we fell behind (ENOBUFS), the watcher re-dumps and reports the
 * difference, so listeners never keep a stale picture.
 */
import { fstatSync } from 'node:fs';
import type { LinkRecord } from '../protocol';
import {
  NETLINK_ROUTE,
  O_NONBLOCK,
  O_RDONLY,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_LINK,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from '../kernel/constants';
import { hasErrno } from '../kernel/errors';
import { closeFd, openFile, pipe, writeFd } from '../kernel/files';
import { RouteSocket, decodeAddressMessage, decodeIfInfo, decodeLinkMessage, decodeMessages, type LinkMessage, type NetlinkMessage } from '../kernel/rtnetlink';
import { bindNetlink, closeSocket, openNetlinkSocket, pollAsync, pollSet, setReceiveBuffer, tryReceiveMessage } from '../kernel/sockets';
import { OWN_NETNS_PATH } from '../runtime/network/netns';
import { dumpNamespace, linkRecord } from './links';

export type LinkEvent = 'added' | 'removed' | 'changed';

export interface LinkWatcher {
  close(): void;
}

/** How long one wait on the pool thread may last before it is renewed. */
const POLL_TIMEOUT_MS = 1000;

/** Address family of the bridge module's per-port messages (<linux/socket.h>). */
const AF_BRIDGE = 7;

function ownNetnsInode(): number {
  const fd = openFile(OWN_NETNS_PATH, O_RDONLY);
  try {
    return fstatSync(fd).ino;
  } finally {
    closeFd(fd);
  }
}

/** Builds LinkRecords for the agent's own namespace from link and address messages. */
class HostLinkTable {
  readonly records = new Map<number, LinkRecord>();
  constructor(private readonly netns: number) {}

  /** Replaces the table with a fresh dump; returns the previous table. */
  reload(): Map<number, LinkRecord> {
    const previous = new Map(this.records);
    const socket = new RouteSocket();
    try {
      const { links, addresses } = dumpNamespace(socket);
      this.records.clear();
      // Twice: the second pass resolves masters and peers listed after the link itself.
      for (let pass = 0; pass < 2; pass++) {
        for (const link of links) this.records.set(link.index, this.fromLink(link, addresses.get(link.index) ?? []));
      }
    } finally {
      socket.close();
    }
    return previous;
  }

  fromLink(link: LinkMessage, addresses: string[]): LinkRecord {
    const peer: LinkRecord['peer'] =
      link.kind === 'veth' && link.link !== null && link.link > 0
        ? link.linkNetnsId === null
          ? { ifindex: link.link, netns: this.netns, name: this.records.get(link.link)?.name }
          : { ifindex: link.link, netns: null }
        : null;
    return this.withMaster(linkRecord(link, { netns: this.netns, addresses, master: null, peer }), link.master);
  }

  withMaster(record: LinkRecord, master: number | null): LinkRecord {
    return { ...record, master: master !== null ? this.records.get(master)?.name ?? null : null };
  }
}

export function watchLinks(onEvent: (event: LinkEvent, link: LinkRecord) => void): LinkWatcher {
  const fd = openNetlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE link watcher');
  let wake: [number, number];
  try {
    setReceiveBuffer(fd, 4 * 1024 * 1024);
    bindNetlink(fd, RTMGRP_LINK | RTMGRP_IPV4_IFADDR);
    wake = pipe(O_NONBLOCK);
  } catch (error) {
    closeSocket(fd);
    throw error;
  }
  const [wakeRead, wakeWrite] = wake;
  const table = new HostLinkTable(ownNetnsInode());
  // Subscribed before the dump, so nothing happening in between is missed.
  table.reload();

  const buffer = Buffer.alloc(256 * 1024);
  const set = pollSet([fd, wakeRead]);
  let closing = false;

  const release = (): void => {
    closeSocket(fd);
    closeFd(wakeRead);
    closeFd(wakeWrite);
  };

  const emit = (event: LinkEvent, record: LinkRecord): void => onEvent(event, record);

  const applyMessage = (message: NetlinkMessage, events: Array<[LinkEvent, LinkRecord]>): void => {
    if (message.type === RTM_NEWLINK || message.type === RTM_DELLINK) {
      if (decodeIfInfo(message.payload).family === AF_BRIDGE) return;
      const link = decodeLinkMessage(message);
      const previous = table.records.get(link.index);
      if (message.type === RTM_DELLINK) {
        table.records.delete(link.index);
        events.push(['removed', previous ?? table.fromLink(link, [])]);
        return;
      }
      const record = table.fromLink(link, previous?.addresses ?? []);
      table.records.set(link.index, record);
      if (!previous) events.push(['added', record]);
      else if (JSON.stringify(previous) !== JSON.stringify(record)) events.push(['changed', record]);
    } else if (message.type === RTM_NEWADDR || message.type === RTM_DELADDR) {
      const address = decodeAddressMessage(message);
      const record = address && table.records.get(address.index);
      if (!address || !record) return;
      const others = record.addresses.filter((cidr) => cidr !== address.cidr);
      const updated = { ...record, addresses: message.type === RTM_NEWADDR ? [...others, address.cidr] : others };
      table.records.set(address.index, updated);
      events.push(['changed', updated]);
    }
  };

  /** After lost events: a fresh dump, reported as the difference to what listeners last saw. */
  const resynchronise = (events: Array<[LinkEvent, LinkRecord]>): void => {
    const previous = table.reload();
    for (const [index, record] of previous) if (!table.records.has(index)) events.push(['removed', record]);
    for (const [index, record] of table.records) {
      const before = previous.get(index);
      if (!before) events.push(['added', record]);
      else if (JSON.stringify(before) !== JSON.stringify(record)) events.push(['changed', record]);
    }
  };

  const drain = (): Array<[LinkEvent, LinkRecord]> => {
    const events: Array<[LinkEvent, LinkRecord]> = [];
    for (;;) {
      let length: number | null;
      try {
        length = tryReceiveMessage(fd, buffer, 'link watcher');
      } catch (error) {
        if (!hasErrno(error, 'ENOBUFS')) throw error;
        resynchronise(events);
        continue;
      }
      if (length === null) return events;
      for (const message of decodeMessages(buffer, length)) applyMessage(message, events);
    }
  };

  const waitForMessages = (): void => {
    // Never wait forever: when Node exits (even on an uncaught error, before anyone calls close)
    // libuv joins its pool threads, and a poll with no timeout would hold the process alive.
    pollAsync(set, POLL_TIMEOUT_MS, (error) => {
      if (closing) {
        release();
        return;
      }
      if (error) {
        closing = true;
        release();
        throw error;
      }
      const events = drain();
      waitForMessages(); // keep listening even if a listener throws below
      for (const [event, record] of events) emit(event, record);
    });
  };
  waitForMessages();

  return {
    close(): void {
      if (closing) return;
      closing = true;
      writeFd(wakeWrite, Buffer.from([1]));
    },
  };
}
