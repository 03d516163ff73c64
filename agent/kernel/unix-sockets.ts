/*
 * Passing a file descriptor to another process over a unix socket: SCM_RIGHTS.
 *
 * sendmsg(2) on an AF_UNIX socket can carry "ancillary data" beside its bytes; a control message
 * of type SCM_RIGHTS holds descriptor numbers, and the kernel installs a copy of each open file in
 * the receiver's descriptor table (under numbers of the receiver's own). That is how runc hands the
 * multiplexer of a container's terminal to whoever listens on --console-socket (containerd's shim):
 * the receiver then owns the terminal's other end, though it never opened it.
 *
 * Layouts (64-bit Linux): struct msghdr { void *name; socklen_t namelen; (pad) struct iovec *iov;
 * size_t iovlen; void *control; size_t controllen; int flags } = 56 bytes; struct iovec { void *base;
 * size_t len }; struct cmsghdr { size_t len; int level; int type } followed by the data, aligned to 8.
 */
import { check, declare } from './libc';
import { NativeArena } from './native-memory';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SUN_PATH_MAX = 108;

const socket_ = declare('int socket(int domain, int type, int protocol)');
const connect_ = declare('int connect(int fd, const uint8_t *addr, uint32_t addrlen)');
const sendmsg_ = declare('long sendmsg(int fd, uintptr_t msg, int flags)');
const close_ = declare('int close(int fd)');

/** Connects to the stream socket at `path` and sends `fd` with `text` as the message's bytes. */
export function sendDescriptor(path: string, fd: number, text: string): void {
  const pathBytes = Buffer.from(path);
  if (pathBytes.length >= SUN_PATH_MAX) throw new Error(`socket path too long (${pathBytes.length} bytes, at most ${SUN_PATH_MAX - 1}): ${path}`);
  const address = Buffer.alloc(2 + SUN_PATH_MAX);
  address.writeUInt16LE(AF_UNIX, 0);
  pathBytes.copy(address, 2);
  const socket = check('socket', 'AF_UNIX', socket_(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) as number);
  try {
    check('connect', path, connect_(socket, address, 2 + pathBytes.length + 1) as number);
    // msghdr, iovec, control message and payload in native memory: the kernel follows their pointers.
    const arena = new NativeArena(4096);
    try {
      const bytes = arena.bytes;
      const payload = arena.cString(text);
      const iovec = arena.allocate(16, 8);
      bytes.writeBigUInt64LE(payload, iovec.offset);
      bytes.writeBigUInt64LE(BigInt(Buffer.byteLength(text)), iovec.offset + 8);
      // One cmsghdr (16 bytes) and one int, padded to 8: CMSG_SPACE(4) = 24, CMSG_LEN(4) = 20.
      const control = arena.allocate(24, 8);
      bytes.writeBigUInt64LE(20n, control.offset);
      bytes.writeInt32LE(SOL_SOCKET, control.offset + 8);
      bytes.writeInt32LE(SCM_RIGHTS, control.offset + 12);
      bytes.writeInt32LE(fd, control.offset + 16);
      const message = arena.allocate(56, 8);
      bytes.writeBigUInt64LE(iovec.address, message.offset + 16);
      bytes.writeBigUInt64LE(1n, message.offset + 24);
      bytes.writeBigUInt64LE(control.address, message.offset + 32);
      bytes.writeBigUInt64LE(24n, message.offset + 40);
      const sent = sendmsg_(socket, message.address, 0) as number;
      check('sendmsg', `SCM_RIGHTS to ${path}`, sent);
    } finally {
      arena.release();
    }
  } finally {
    close_(socket);
  }
}
