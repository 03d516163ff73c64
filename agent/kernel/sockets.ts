/*
 * Netlink sockets: how a program talks to the kernel's networking core.
 *
 * `ip link add`, `ip addr` and `ip route` are thin front-ends: each opens an AF_NETLINK socket of
 * the NETLINK_ROUTE family ("rtnetlink"), writes a request message to the kernel (port id 0) and
 * reads the kernel's answers from the same socket. Nothing travels over a network; the socket is
 * a message queue between this process and the kernel.
 *
 * Two properties matter for containers:
 *   - A socket belongs to the network namespace of the thread that created it, for its whole
 *     life. To configure a container's interfaces, step into its namespace, create the socket,
 *     step back (agent/runtime/network/netns.ts); every later message still acts inside it.
 *   - A socket bound to multicast groups (RTMGRP_LINK, …) receives a message for every change
 *     the kernel makes to links and addresses: that is how live topology views are fed.
 *
 * This file holds only the raw calls (socket, bind, send, recv, setsockopt, poll); message
 * layout lives in ./rtnetlink.ts.
 */
import { check, declare, errorFor, lastErrno } from './libc';
import { AF_NETLINK, MSG_DONTWAIT, POLLIN, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, SO_RCVBUF } from './constants';
import { closeFd } from './files';

const socket_ = declare('int socket(int domain, int type, int protocol)');
const bind_ = declare('int bind(int fd, const uint8_t *addr, uint32_t addrlen)');
const send_ = declare('long send(int fd, const uint8_t *buf, size_t len, int flags)');
const recv_ = declare('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
const setsockopt_ = declare('int setsockopt(int fd, int level, int optname, const uint8_t *optval, uint32_t optlen)');
/* poll(2) is declared with a byte buffer for its `struct pollfd[]` (8 bytes each: int fd, short
 * events, short revents) so that the same buffer can be handed to an asynchronous call. */
const poll_ = declare('int poll(uint8_t *fds, unsigned long nfds, int timeout)');

const EAGAIN = 11;
const EINTR = 4;

/** Opens an AF_NETLINK socket of the given netlink family (NETLINK_ROUTE for rtnetlink). */
export function openNetlinkSocket(family: number, what = 'netlink'): number {
  return check('socket', `AF_NETLINK ${what}`, socket_(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, family) as number);
}

/**
 * Binds a netlink socket: port id 0 lets the kernel pick one; `groups` is the bit mask of
 * multicast groups to receive (0 for a plain request/answer socket).
 */
export function bindNetlink(fd: number, groups = 0): void {
  // struct sockaddr_nl { sa_family_t nl_family; unsigned short pad; u32 nl_pid; u32 nl_groups; }
  const address = Buffer.alloc(12);
  address.writeUInt16LE(AF_NETLINK, 0);
  address.writeUInt32LE(0, 4);
  address.writeUInt32LE(groups >>> 0, 8);
  check('bind', `netlink fd ${fd} groups 0x${groups.toString(16)}`, bind_(fd, address, address.length) as number);
}

/** Sets an integer socket option. */
export function setSocketOption(fd: number, level: number, option: number, value: number, what: string): void {
  const optval = Buffer.alloc(4);
  optval.writeInt32LE(value, 0);
  check('setsockopt', what, setsockopt_(fd, level, option, optval, 4) as number);
}

export function setReceiveBuffer(fd: number, bytes: number): void {
  setSocketOption(fd, SOL_SOCKET, SO_RCVBUF, bytes, `fd ${fd} SO_RCVBUF`);
}

/** Sends one datagram to the kernel (the default destination of an unconnected netlink socket). */
export function sendMessage(fd: number, message: Buffer, what: string): void {
  for (;;) {
    const sent = Number(send_(fd, message, message.length, 0));
    if (sent >= 0) return;
    if (lastErrno() !== EINTR) throw errorFor('send', what);
  }
}

/** Blocking receive of one datagram; returns its length. */
export function receiveMessage(fd: number, buffer: Buffer, what: string): number {
  for (;;) {
    const length = Number(recv_(fd, buffer, buffer.length, 0));
    if (length >= 0) return length;
    if (lastErrno() !== EINTR) throw errorFor('recv', what);
  }
}

/** Non-blocking receive: the datagram's length, or null when nothing is queued. */
export function tryReceiveMessage(fd: number, buffer: Buffer, what: string): number | null {
  for (;;) {
    const length = Number(recv_(fd, buffer, buffer.length, MSG_DONTWAIT));
    if (length >= 0) return length;
    const errno = lastErrno();
    if (errno === EAGAIN) return null;
    if (errno !== EINTR) throw errorFor('recv', what, errno);
  }
}

export function closeSocket(fd: number): void {
  closeFd(fd);
}

/** A `struct pollfd[]` waiting for input on each of `fds`. */
export function pollSet(fds: number[]): Buffer {
  const set = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, index) => {
    set.writeInt32LE(fd, index * 8);
    set.writeInt16LE(POLLIN, index * 8 + 4);
  });
  return set;
}

/**
 * Waits, on a libuv thread-pool thread, until one of the descriptors in `set` is readable; the
 * callback runs on the main thread. The thread is occupied while waiting, so callers wake it
 * through one of the watched descriptors (a pipe) rather than closing a descriptor under it.
 */
export function pollAsync(set: Buffer, timeoutMs: number, done: (error: Error | null) => void): void {
  // poll's own result is not needed: a negative one (EINTR from a signal landing on the pool
  // thread) is a spurious wake-up, after which the caller finds nothing to read and polls again.
  poll_.async(set, set.length / 8, timeoutMs, (error: unknown) => {
    done(error ? (error instanceof Error ? error : new Error(String(error))) : null);
  });
}
