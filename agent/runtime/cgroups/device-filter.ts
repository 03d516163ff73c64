/*
 * The device cgroup of cgroup v2: device rules compiled into an eBPF program.
 *
 * cgroup v2 has no devices controller (no devices.allow, no devices.list). Instead a program of
 * type BPF_PROG_TYPE_CGROUP_DEVICE is attached to the cgroup, and the kernel runs it on every
 * mknod and open of a device node by a process in that cgroup. Its context (r1) points at
 *
 *     struct bpf_cgroup_dev_ctx {
 *         u32 access_type;   // low 16 bits: device type  BPF_DEVCG_DEV_BLOCK = 1, _CHAR = 2
 *                            // high 16 bits: access      BPF_DEVCG_ACC_MKNOD = 1, _READ = 2, _WRITE = 4
 *         u32 major;
 *         u32 minor;
 *     };
 *
 * and its return value (r0) is the verdict: 1 allow, 0 deny (the call fails with EPERM). The
 * same idea as seccomp's filter (../seccomp.ts) — a program the kernel runs at a hook and obeys —
 * but written in eBPF, not classic BPF: eleven 64-bit registers instead of an accumulator, 8-byte
 * instructions {opcode, dst:4 src:4, off16, imm32}, loaded with bpf(2) and checked by the
 * verifier (../../kernel/bpf.ts), attached to a cgroup directory rather than installed in a process.
 *
 * This module turns the rules (./device-rules.ts), folded the way cgroup v1 folds them into a
 * default verdict and exceptions, into this program:
 *
 *     r2 = ctx->access_type & 0xffff        device type
 *     r3 = ctx->access_type >> 16           access asked for
 *     r4 = ctx->major;  r5 = ctx->minor
 *     for each exception:                   (every test jumps to the next exception on failure)
 *         if r2 != TYPE goto next
 *         allow-exception: if (r3 & ACCESS) != r3 goto next    all the access asked for is granted
 *         deny-exception:  if (r3 & ACCESS) == 0  goto next    any of it is refused
 *         if r4 != MAJOR goto next          (left out for "*")
 *         if r5 != MINOR goto next          (left out for "*")
 *         r0 = !default; exit
 *     r0 = default; exit
 *
 * The two access tests are the v1 kernel's own (match_exception / match_exception_partial), so a
 * container gets the same answers on both versions. A program is compiled and loaded once per
 * rule list, and every cgroup with that list gets the same loaded program (attachDeviceFilter).
 */
import { closeFd, openFile } from '../../kernel/files';
import { O_DIRECTORY, O_RDONLY } from '../../kernel/constants';
import {
  attachProgram, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_INSTRUCTION_BYTES, BPF_PROG_TYPE_CGROUP_DEVICE, loadProgram, queryPrograms,
} from '../../kernel/bpf';
import { ALL_ACCESS, foldDeviceRules, type DeviceException, type DeviceRule } from './device-rules';

export interface EbpfInstruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcodes: class | operation | source (<linux/bpf.h>, <linux/bpf_common.h>).
export const OP = {
  LDX_MEM_W: 0x61, //  dst = *(u32 *)(src + off)
  AND32_K: 0x54, //    dst &= imm        (32-bit ALU: the upper half of dst becomes 0)
  RSH32_K: 0x74, //    dst >>= imm
  MOV32_K: 0xb4, //    dst = imm
  MOV32_X: 0xbc, //    dst = src
  JEQ_K: 0x15, //      if dst == imm goto pc + 1 + off
  JNE_K: 0x55, //      if dst != imm goto pc + 1 + off
  JNE_X: 0x5d, //      if dst != src goto pc + 1 + off
  EXIT: 0x95, //       return r0
} as const;

const JUMPS = new Set<number>([OP.JEQ_K, OP.JNE_K, OP.JNE_X]);

/** BPF_DEVCG_DEV_* */
export const DEVICE_TYPE_BITS: Readonly<Record<'b' | 'c', number>> = { b: 1, c: 2 };

const [R0, R1, R2, R3, R4, R5] = [0, 1, 2, 3, 4, 5] as const;

const insn = (code: number, dst: number, src: number, off: number, imm: number): EbpfInstruction => ({ code, dst, src, off, imm });

const PROLOGUE: readonly EbpfInstruction[] = [
  insn(OP.LDX_MEM_W, R2, R1, 0, 0), // r2 = access_type
  insn(OP.AND32_K, R2, 0, 0, 0xffff), // r2 = device type
  insn(OP.LDX_MEM_W, R3, R1, 0, 0), // r3 = access_type
  insn(OP.RSH32_K, R3, 0, 0, 16), // r3 = access asked for
  insn(OP.LDX_MEM_W, R4, R1, 4, 0), // r4 = major
  insn(OP.LDX_MEM_W, R5, R1, 8, 0), // r5 = minor
];

const verdict = (allow: boolean): EbpfInstruction[] => [insn(OP.MOV32_K, R0, 0, 0, allow ? 1 : 0), insn(OP.EXIT, 0, 0, 0, 0)];

/** One exception: tests that skip to the block's end when they fail, then the exception's verdict. */
function exceptionBlock(exception: DeviceException, allow: boolean): EbpfInstruction[] {
  const tests: EbpfInstruction[] = [insn(OP.JNE_K, R2, 0, 0, DEVICE_TYPE_BITS[exception.type])];
  if (exception.access !== ALL_ACCESS) {
    // r1 is free: the context's fields are all in registers already.
    tests.push(insn(OP.MOV32_X, R1, R3, 0, 0), insn(OP.AND32_K, R1, 0, 0, exception.access));
    tests.push(allow ? insn(OP.JNE_X, R1, R3, 0, 0) : insn(OP.JEQ_K, R1, 0, 0, 0));
  }
  if (exception.major !== null) tests.push(insn(OP.JNE_K, R4, 0, 0, exception.major));
  if (exception.minor !== null) tests.push(insn(OP.JNE_K, R5, 0, 0, exception.minor));
  const block = [...tests, ...verdict(allow)];
  // A jump's offset counts the instructions it skips: from the one after it to the block's end.
  block.forEach((instruction, index) => {
    if (JUMPS.has(instruction.code)) instruction.off = block.length - (index + 1);
  });
  return block;
}

/** The program for `rules`, as instructions. */
export function compileDeviceProgram(rules: readonly DeviceRule[]): EbpfInstruction[] {
  const table = foldDeviceRules(rules);
  const program = PROLOGUE.map((instruction) => ({ ...instruction }));
  for (const exception of table.exceptions) program.push(...exceptionBlock(exception, !table.defaultAllow));
  program.push(...verdict(table.defaultAllow));
  return program;
}

/** struct bpf_insn, little-endian (both architectures the lab runs on are). */
export function encodeInstructions(program: readonly EbpfInstruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * BPF_INSTRUCTION_BYTES);
  program.forEach(({ code, dst, src, off, imm }, index) => {
    const at = index * BPF_INSTRUCTION_BYTES;
    bytes.writeUInt8(code, at);
    bytes.writeUInt8((src << 4) | dst, at + 1);
    bytes.writeInt16LE(off, at + 2);
    bytes.writeInt32LE(imm, at + 4);
  });
  return bytes;
}

const compiled = new Map<string, Buffer>();
const MAX_CACHED = 32;

/** The program's bytes, compiled once per distinct rule list (the default list is the common one). */
export function compileDeviceFilter(rules: readonly DeviceRule[]): Buffer {
  const key = JSON.stringify(rules);
  let bytes = compiled.get(key);
  if (!bytes) {
    bytes = encodeInstructions(compileDeviceProgram(rules));
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(key, bytes);
  }
  return bytes;
}

/** The name `bpftool prog` shows for the programs the lab attaches. */
export const DEVICE_PROGRAM_NAME = 'containers_lab';

/**
 * Loaded programs, one per distinct rule list, kept open for the process's life: the verifier
 * checks a rule list once (~1 ms), and every cgroup with that list gets the same program, so
 * `bpftool cgroup tree` shows one id under each container. A cgroup holds its own reference:
 * the program stays until the last cgroup using it and this process are gone. bpf(2)'s
 * descriptors are close-on-exec, so no container inherits one.
 */
const loaded = new Map<string, number>();

function loadedProgram(rules: readonly DeviceRule[]): number {
  const key = JSON.stringify(rules);
  let programFd = loaded.get(key);
  if (programFd === undefined) {
    programFd = loadProgram(BPF_PROG_TYPE_CGROUP_DEVICE, compileDeviceFilter(rules), { name: DEVICE_PROGRAM_NAME, license: 'GPL' });
    if (loaded.size >= MAX_CACHED) {
      for (const fd of loaded.values()) closeFd(fd);
      loaded.clear();
    }
    loaded.set(key, programFd);
  }
  return programFd;
}

/** Attaches the program for `rules` to the v2 cgroup at `directory` (loaded once per rule list, above). */
export function attachDeviceFilter(directory: string, rules: readonly DeviceRule[]): void {
  const programFd = loadedProgram(rules);
  const cgroupFd = openFile(directory, O_RDONLY | O_DIRECTORY);
  try {
    attachProgram(cgroupFd, programFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, directory);
  } finally {
    closeFd(cgroupFd);
  }
}

/** The ids of the device programs attached to the v2 cgroup at `directory` (BPF_PROG_QUERY). */
export function deviceProgramsOf(directory: string): number[] {
  const cgroupFd = openFile(directory, O_RDONLY | O_DIRECTORY);
  try {
    return queryPrograms(cgroupFd, BPF_CGROUP_DEVICE, directory).ids;
  } finally {
    closeFd(cgroupFd);
  }
}
