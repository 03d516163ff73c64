/*
 * Just enough ELF to answer "will this binary run inside an empty container?".
 *
 * A Linux executable is an ELF file. Its program headers tell the kernel what to map at exec
 * time; one of them, PT_INTERP, names a program interpreter, the dynamic loader
 * (/lib64/ld-linux-x86-64.so.2), which the kernel starts first so that it can load libc and
 * the other shared libraries. A container root that holds only busybox has no loader and no
 * libc, so a dynamically linked busybox fails with a baffling ENOENT at execve. A statically
 * linked one (Debian's busybox-static) has no PT_INTERP and runs anywhere with the same CPU.
 * (A static-pie binary has PT_DYNAMIC but still no PT_INTERP: it relocates itself.)
 */
import fs from 'node:fs';

const PT_INTERP = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

export interface ElfFacts {
  /** The dynamic loader it asks for, or null for a static binary. */
  interpreter: string | null;
  /** The CPU it is built for, in Node's `process.arch` words ("x64", "arm64"), or "machine N". */
  arch: string;
}

/** Reads the ELF header and program headers; null when the file is not ELF. */
export function readElfFacts(path: string): ElfFacts | null {
  const fd = fs.openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    if (fs.readSync(fd, header, 0, 64, 0) < 52 || header.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = header[4] === 2;
    const little = header[5] === 1;
    const u16 = (buffer: Buffer, offset: number) => (little ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset));
    const u32 = (buffer: Buffer, offset: number) => (little ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset));
    const word = (buffer: Buffer, offset: number) =>
      is64 ? Number(little ? buffer.readBigUInt64LE(offset) : buffer.readBigUInt64BE(offset)) : u32(buffer, offset);

    const machine = u16(header, 18);
    const arch = machine === EM_X86_64 ? 'x64' : machine === EM_AARCH64 ? 'arm64' : `machine ${machine}`;
    const phoff = word(header, is64 ? 32 : 28);
    const phentsize = u16(header, is64 ? 54 : 42);
    const phnum = u16(header, is64 ? 56 : 44);

    const table = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, table, 0, table.length, phoff);
    for (let index = 0; index < phnum; index++) {
      const entry = table.subarray(index * phentsize, (index + 1) * phentsize);
      if (u32(entry, 0) !== PT_INTERP) continue;
      const offset = word(entry, is64 ? 8 : 4);
      const size = word(entry, is64 ? 32 : 16);
      const name = Buffer.alloc(size);
      fs.readSync(fd, name, 0, size, offset);
      return { interpreter: name.toString('latin1').replace(/\0.*$/s, ''), arch };
    }
    return { interpreter: null, arch };
  } finally {
    fs.closeSync(fd);
  }
}
