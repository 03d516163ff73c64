/*
 * The process events connector: how a program learns how ANY process ended, not only its children.
 *
 * wait(2) hands a process's exit status to its parent alone. A container started by an earlier
 * agent — the standalone `containers-lab run -d` CLI that has long exited, or a service before its
 * restart — is not our child: when its parent died the kernel re-parented it to init (or to a
 * subreaper), and that process collects the status and throws it away. Everyone else can only see
 * that /proc/<pid> disappeared — so `containers-lab stop` from a standalone CLI could not say how
 * the container ended, while the service, its parent, could.
 *
 * The kernel has a second channel. The "connector" is a netlink family (NETLINK_CONNECTOR) that
 * kernel subsystems use to talk to user space; the process events connector (CN_IDX_PROC /
 * CN_VAL_PROC, CONFIG_PROC_EVENTS) multicasts a `struct proc_event` for every fork, exec, uid
 * change … and exit on the whole machine. An exit event carries the PID, the thread-group id, and
 * `exit_code` — the very wait(2) status the parent will get (code << 8, or the killing signal).
 * It is what `forkstat` and some process supervisors use.
 *
 * Listening takes three steps on a netlink socket of that family:
 *   1. bind to multicast group CN_IDX_PROC, so broadcasts reach the socket;
 *   2. send PROC_CN_MCAST_LISTEN to the connector (a `struct cn_msg` addressed to CN_IDX_PROC /
 *      CN_VAL_PROC after the usual nlmsghdr) — until someone has, the kernel does not even
 *      produce the events. It needs CAP_NET_ADMIN and is ignored from a non-initial PID or user
 *      namespace (PIDs in events are the initial namespace's);
 *   3. read: every datagram is nlmsghdr + cn_msg + proc_event.
 * The kernel answers a request with a PROC_EVENT_NONE "ack" carrying an errno and, in cn_msg.ack,
 * the request's ack number + 1 (on recent kernels its seq is a counter of the kernel's own). That happens while
 * send(2) is still inside the kernel — the connector handles a request synchronously in the
 * sender's context — so a non-blocking read right after send finds it, or finds that the kernel
 * ignored the request (no ack: a namespace it does not serve, or a refusal nobody was told of).
 * Kernels since 6.6 also take an 8-byte request (op, event mask) and then send this socket only
 * the kinds asked for; older ones (Debian 12 runs 6.1) ignore that form. Its ack is itself
 * filtered away (it is no exit), so the plain 4-byte LISTEN goes first, to be acknowledged, and
 * the 8-byte one after it only narrows the stream to exits where the kernel can. Elsewhere
 * every fork and exec arrives too, and the reader skips them.
 *
 * Events that arrive faster than they are read are dropped by the kernel; the next read then
 * fails with ENOBUFS. The reader reports that (`lost`), so the caller knows a missing event
 * proves nothing. The socket framing is the same as rtnetlink's (./sockets.ts, ./rtnetlink.ts).
 */
import { NLMSG_DONE, SOL_SOCKET } from './constants';
import { hasErrno } from './errors';
import { errorFor } from './libc';
import { decodeWaitStatus, type ExitStatus } from './processes';
import { decodeMessages, encodeMessage } from './rtnetlink';
import {
  bindNetlink,
  closeSocket,
  openNetlinkSocket,
  sendMessage,
  setReceiveBuffer,
  setSocketOption,
  tryReceiveMessage,
} from './sockets';

/** One process (thread group) ended. */
export interface ProcessExit {
  /** The process id (its thread-group id) in the initial PID namespace. */
  pid: number;
  /** The raw wait(2) status. */
  waitStatus: number;
  /** The same status as ExitStatus: exit code, or 128 + signal. */
  status: ExitStatus;
}

/* From <linux/netlink.h>, <linux/connector.h>, <linux/cn_proc.h>, <asm-generic/socket.h>. */
const NETLINK_CONNECTOR = 11;
/** struct cb_id of the process events connector; CN_IDX_PROC is also its multicast group. */
const CN_IDX_PROC = 0x1;
const CN_VAL_PROC = 0x1;
/** enum proc_cn_mcast_op. */
const PROC_CN_MCAST_LISTEN = 1;
const PROC_CN_MCAST_IGNORE = 2;
/** enum proc_cn_event (proc_event.what); NONE is also the kind of the kernel's acknowledgement. */
const PROC_EVENT_NONE = 0x0;
const PROC_EVENT_EXIT = 0x80000000;
/** SO_RCVBUF beyond net.core.rmem_max (needs CAP_NET_ADMIN). */
const SO_RCVBUFFORCE = 33;

/** struct cn_msg: idx, val, seq, ack (u32 each), len, flags (u16 each), then `len` bytes. */
const CN_MSG_LENGTH = 20;
/** Offsets inside struct proc_event (after cn_msg). */
const EVENT_WHAT = 0;
const EVENT_DATA = 16; // after what, cpu and the 8-byte-aligned timestamp
const EXIT_PROCESS_PID = EVENT_DATA;
const EXIT_PROCESS_TGID = EVENT_DATA + 4;
const EXIT_CODE = EVENT_DATA + 8;
const ACK_ERR = EVENT_DATA;
const EXIT_EVENT_LENGTH = EVENT_DATA + 16;

/**
 * Large, because without the kernel's event filter every fork and exec on the machine queues
 * here between two reads. Forced past net.core.rmem_max where allowed (CAP_NET_ADMIN).
 */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Roughly what that buffer holds; the rest waits for the next read. */
const MAX_DATAGRAMS_PER_READ = 8192;

function connectorRequest(seq: number, data: Buffer): Buffer {
  const header = Buffer.alloc(CN_MSG_LENGTH + data.length);
  header.writeUInt32LE(CN_IDX_PROC, 0);
  header.writeUInt32LE(CN_VAL_PROC, 4);
  header.writeUInt32LE(seq >>> 0, 8);
  header.writeUInt32LE(seq >>> 0, 12); // ack: the kernel's answer carries it + 1
  header.writeUInt16LE(data.length, 16);
  data.copy(header, CN_MSG_LENGTH);
  // The connector ignores the netlink type; NLMSG_DONE is what its users conventionally send.
  return encodeMessage(NLMSG_DONE, 0, seq, header);
}

function u32s(...values: number[]): Buffer {
  const buffer = Buffer.alloc(4 * values.length);
  values.forEach((value, index) => buffer.writeUInt32LE(value >>> 0, index * 4));
  return buffer;
}

/** A subscription to process exits. Read it with `read()`; it never blocks. */
export class ProcessExitEvents {
  private readonly buffer = Buffer.alloc(64 * 1024);
  private sequence = Math.floor(Math.random() * 0x7fffffff);
  /** Exits read while waiting for the subscription's ack, handed out by the next read(). */
  private early: ProcessExit[] = [];
  private closed = false;

  private constructor(private readonly fd: number) {}

  /**
   * Opens the socket and subscribes. Throws a KernelError when this process cannot listen: no
   * CONFIG_PROC_EVENTS (EPROTONOSUPPORT), not privileged (EPERM), or a namespace the kernel does
   * not serve (EOPNOTSUPP: the request went unanswered).
   */
  static subscribe(): ProcessExitEvents {
    const fd = openNetlinkSocket(NETLINK_CONNECTOR, 'NETLINK_CONNECTOR process events');
    const events = new ProcessExitEvents(fd);
    try {
      try {
        setSocketOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES, `fd ${fd} SO_RCVBUFFORCE`);
      } catch {
        setReceiveBuffer(fd, RECEIVE_BUFFER_BYTES); // capped at rmem_max, still better than the default
      }
      bindNetlink(fd, 1 << (CN_IDX_PROC - 1));
      if (!events.request(u32s(PROC_CN_MCAST_LISTEN))) {
        throw errorFor('PROC_CN_MCAST_LISTEN', 'process events connector [request ignored: not the initial PID/user namespace?]', 95 /* ENOTSUP */);
      }
      // Exits only, where the kernel filters (6.6+); unanswered by design, ignored by older kernels.
      events.send(u32s(PROC_CN_MCAST_LISTEN, PROC_EVENT_EXIT));
    } catch (error) {
      closeSocket(fd);
      throw error;
    }
    return events;
  }

  /** Every process exit queued since the last read; `lost` if the kernel dropped events meanwhile. */
  read(): { exits: ProcessExit[]; lost: boolean } {
    const exits = this.early;
    this.early = [];
    let lost = false;
    if (this.closed) return { exits, lost };
    // Bounded, so a machine forking faster than we decode cannot hold the event loop here.
    for (let datagrams = 0; datagrams < MAX_DATAGRAMS_PER_READ; datagrams++) {
      let length: number | null;
      try {
        length = tryReceiveMessage(this.fd, this.buffer, 'process events connector');
      } catch (error) {
        // The queue overflowed: some events are gone, the ones after them still come.
        if (!hasErrno(error, 'ENOBUFS')) throw error;
        lost = true;
        continue;
      }
      if (length === null) break;
      this.decode(length, exits);
    }
    return { exits, lost };
  }

  /** Unsubscribes (so the kernel stops producing events for us) and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.send(u32s(PROC_CN_MCAST_IGNORE));
    } catch {
      // closing anyway; the kernel only keeps a listener count
    }
    closeSocket(this.fd);
  }

  /** Sends a control request; returns the ack number the kernel's answer will carry. */
  private send(data: Buffer): number {
    this.sequence = (this.sequence + 1) & 0x7fffffff;
    const op = data.readUInt32LE(0) === PROC_CN_MCAST_LISTEN ? 'PROC_CN_MCAST_LISTEN' : 'PROC_CN_MCAST_IGNORE';
    sendMessage(this.fd, connectorRequest(this.sequence, data), op);
    return (this.sequence + 1) >>> 0;
  }

  /**
   * Sends a control request and reads its ack (already queued, see the top of this file).
   * True when acknowledged; false when the kernel ignored it; throws when it refused it.
   */
  private request(data: Buffer): boolean {
    const expectedAck = this.send(data);
    for (;;) {
      let length: number | null;
      try {
        length = tryReceiveMessage(this.fd, this.buffer, 'process events connector');
      } catch (error) {
        if (!hasErrno(error, 'ENOBUFS')) throw error;
        continue;
      }
      if (length === null) return false;
      const errno = this.decode(length, this.early, expectedAck);
      if (errno === 0) return true;
      if (errno !== null) throw errorFor('PROC_CN_MCAST_LISTEN', 'process events connector', errno);
    }
  }

  /**
   * Adds the process exits of one datagram to `exits`; returns the errno of the ack numbered
   * `expectedAck` if the datagram holds it, else null. Exits of single threads are skipped: a process
   * has ended when its thread-group leader has (pid === tgid).
   */
  private decode(length: number, exits: ProcessExit[], expectedAck?: number): number | null {
    let ackErrno: number | null = null;
    for (const message of decodeMessages(this.buffer, length)) {
      const payload = message.payload;
      if (payload.length < CN_MSG_LENGTH + EVENT_DATA + 4) continue;
      if (payload.readUInt32LE(0) !== CN_IDX_PROC || payload.readUInt32LE(4) !== CN_VAL_PROC) continue;
      const event = payload.subarray(CN_MSG_LENGTH);
      const what = event.readUInt32LE(EVENT_WHAT);
      if (what === PROC_EVENT_NONE) {
        // An ack: to our request if it carries our number (others' acks are broadcast too).
        if (expectedAck !== undefined && payload.readUInt32LE(12) === expectedAck) ackErrno = event.readUInt32LE(ACK_ERR);
        continue;
      }
      if (what !== PROC_EVENT_EXIT || event.length < EXIT_EVENT_LENGTH) continue;
      const pid = event.readInt32LE(EXIT_PROCESS_TGID);
      if (event.readInt32LE(EXIT_PROCESS_PID) !== pid) continue;
      const waitStatus = event.readUInt32LE(EXIT_CODE);
      exits.push({ pid, waitStatus, status: decodeWaitStatus(waitStatus) });
    }
    return ackErrno;
  }
}
