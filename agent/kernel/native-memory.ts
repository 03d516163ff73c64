/*
 * Native memory the agent prepares for a child process that will run no JavaScript.
 *
 * After clone(2) without CLONE_VM the child gets a copy-on-write copy of the parent's memory,
 * except regions marked MADV_DONTFORK — and V8 marks its heap that way, so nothing in the
 * JavaScript heap exists in the child. Everything the child needs (strings, argv arrays, the
 * instruction "contexts" of ./child-program) therefore lives in an anonymous mmap(2) arena:
 * ordinary memory that fork copies. The parent writes it through a Buffer view, clones, and
 * unmaps its own copy afterwards; the child keeps its copy until execve replaces its memory.
 */
import { declare, errorFor, koffi } from './libc';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './constants';

const mmap = declare('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
const munmap = declare('int munmap(void *addr, size_t length)');
const dlsym = declare('uintptr_t dlsym(uintptr_t handle, const char *symbol)');

/** An address in native memory, as the integer the C side sees. */
export type Address = bigint;

const MAP_FAILED = BigInt.asUintN(64, -1n);

export class NativeArena {
  readonly base: Address;
  readonly bytes: Buffer;
  private readonly mapping: unknown;
  private offset = 0;
  private released = false;

  constructor(readonly size: number) {
    this.mapping = mmap(null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    this.base = koffi.address(this.mapping);
    if (this.base === MAP_FAILED || this.base === 0n) throw errorFor('mmap', `${size} bytes`);
    this.bytes = Buffer.from(koffi.view(this.mapping, size));
  }

  /** Reserves `length` bytes aligned to `align`; returns their address and offset in `bytes`. */
  allocate(length: number, align = 16): { address: Address; offset: number } {
    const offset = Math.ceil(this.offset / align) * align;
    if (offset + length > this.size) throw new Error(`native arena of ${this.size} bytes is full`);
    this.offset = offset + length;
    return { address: this.base + BigInt(offset), offset };
  }

  /** A NUL-terminated C string. */
  cString(text: string): Address {
    const encoded = Buffer.from(`${text}\0`);
    const { address, offset } = this.allocate(encoded.length, 1);
    encoded.copy(this.bytes, offset);
    return address;
  }

  /** A NULL-terminated array of C strings, the shape of argv and envp. */
  cStringArray(texts: readonly string[]): Address {
    const pointers = texts.map((text) => this.cString(text));
    const { address, offset } = this.allocate(8 * (pointers.length + 1), 8);
    pointers.forEach((pointer, index) => this.bytes.writeBigUInt64LE(pointer, offset + 8 * index));
    this.bytes.writeBigUInt64LE(0n, offset + 8 * pointers.length);
    return address;
  }

  /** A zero-filled scratch area. */
  zeroed(length: number, align = 16): Address {
    const { address, offset } = this.allocate(length, align);
    this.bytes.fill(0, offset, offset + length);
    return address;
  }

  offsetOf(address: Address): number {
    return Number(address - this.base);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    munmap(this.mapping, this.size);
  }
}

/** The address of a C library function, as a function pointer the child can jump to. */
export function functionAddress(name: string): Address {
  const address = BigInt(dlsym(0, name) as number | bigint);
  if (address === 0n) throw new Error(`dlsym(${name}): symbol not found in the C library`);
  return address;
}
