/*
 * Generates syscall-table.generated.ts: every system call's number on x86-64 and aarch64, read
 * from the Linux UAPI headers by the C preprocessor (`gcc -E -dM` lists the __NR_* macros).
 * Seccomp profiles name system calls; the filter the kernel runs compares numbers.
 *
 * Profiles are written for many machines at once: Docker's and containerd's default profiles name
 * i386's chown32 and _llseek, ARM's cacheflush and set_tls, s390's s390_runtime_instr. libseccomp
 * (so runc) resolves a name for the architecture it builds a filter for and skips the rest; to tell
 * such a name from a typo, the generator also lists the names every other architecture libseccomp
 * knows has (OTHER_ARCH_SYSCALL_NAMES, names only: their numbers never reach a filter here).
 *
 * Run (needs gcc, linux-libc-dev and the cross headers of OTHER_ARCHES, e.g.
 * `apt-get install linux-libc-dev-{arm64,armhf,ppc64el,powerpc,s390x,mipsel,mips64el,riscv64,hppa,m68k,sh4}-cross`):
 *   npx vite-node agent/kernel/generate-syscall-table.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function macros(header: string, includeArgs: string[]): Map<string, string> {
  const output = execFileSync('gcc', ['-E', '-dM', ...includeArgs, '-'], { input: `#include <${header}>\n`, encoding: 'utf8' });
  const found = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^#define (__NR3?2?6?4?_\w+) (.+)$/.exec(line);
    if (match) found.set(match[1]!, match[2]!.trim());
  }
  return found;
}

function table(defines: Map<string, string>): Record<string, number> {
  const numbers: Record<string, number> = {};
  const resolve = (value: string, depth = 0): number | null => {
    if (/^\d+$/.test(value)) return Number(value);
    const next = defines.get(value);
    return next !== undefined && depth < 4 ? resolve(next, depth + 1) : null;
  };
  for (const [name, value] of [...defines.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith('__NR_') || name === '__NR_syscalls') continue;
    const number = resolve(value);
    if (number !== null) numbers[name.slice('__NR_'.length)] = number;
  }
  return numbers;
}

/**
 * System calls newer than the headers of the machines that build this (Debian 12: Linux 6.1 UAPI,
 * up to 450), which kernels the lab runs on may have and profiles name. From 424 on, every
 * architecture numbers new system calls alike (the unified table, include/uapi/asm-generic/unistd.h).
 */
const NEWER_THAN_THE_HEADERS: Record<string, number> = {
  cachestat: 451, // 6.5
  fchmodat2: 452, // 6.6
  futex_wake: 454, futex_wait: 455, futex_requeue: 456, // 6.7
  statmount: 457, listmount: 458, lsm_get_self_attr: 459, lsm_set_self_attr: 460, lsm_list_modules: 461, // 6.8
  mseal: 462, // 6.10
  setxattrat: 463, getxattrat: 464, listxattrat: 465, removexattrat: 466, // 6.13
};
/** 453 is x86-64's alone (shadow stacks, 6.6). */
const NEWER_X64_ONLY: Record<string, number> = { map_shadow_stack: 453 };

const byName = (numbers: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(numbers).sort(([a], [b]) => a.localeCompare(b)));
const x64 = byName({ ...NEWER_THAN_THE_HEADERS, ...NEWER_X64_ONLY, ...table(macros('asm/unistd_64.h', [])) });
const arm64 = byName({ ...NEWER_THAN_THE_HEADERS, ...table(macros('asm/unistd.h', ['-nostdinc', '-I/usr/aarch64-linux-gnu/include'])) });

/** Where each other architecture's unistd headers are: i386 and x32 come with the host's own headers. */
const OTHER_ARCHES: Record<string, string> = {
  'i386 and x32': '/usr/include/x86_64-linux-gnu/asm',
  arm: '/usr/arm-linux-gnueabihf/include/asm',
  'ppc64le': '/usr/powerpc64le-linux-gnu/include/asm',
  ppc: '/usr/powerpc-linux-gnu/include/asm',
  's390 and s390x': '/usr/s390x-linux-gnu/include/asm',
  'mips o32, n32, n64': '/usr/mipsel-linux-gnu/include/asm',
  mips64el: '/usr/mips64el-linux-gnuabi64/include/asm',
  riscv64: '/usr/riscv64-linux-gnu/include/asm',
  parisc: '/usr/hppa-linux-gnu/include/asm',
  m68k: '/usr/m68k-linux-gnu/include/asm',
  sh: '/usr/sh4-linux-gnu/include/asm',
  'asm-generic (loongarch64 and the 32-bit names of the unified table)': '/usr/riscv64-linux-gnu/include/asm-generic',
};

/**
 * The names an architecture's unistd headers define, read as text: several define a name only
 * under an ABI's macro (mips o32/n32/n64, 32- and 64-bit s390), and every one of them is a name.
 * ARM's private calls (__ARM_NR_cacheflush…) are named without their prefix, as libseccomp does.
 */
function namesIn(directory: string): Set<string> {
  if (!existsSync(directory)) throw new Error(`${directory} is missing: install its linux-libc-dev-*-cross package`);
  const names = new Set<string>();
  for (const file of readdirSync(directory).filter((name) => /^unistd[\w-]*\.h$/.test(name))) {
    for (const match of readFileSync(join(directory, file), 'utf8').matchAll(/^#define\s+__(?:ARM_)?NR_(\w+)\s/gm)) {
      const name = match[1]!;
      if (!/Linux|^syscalls$|BASE|MASK|^arch_specific_syscall$|^(?:reserved|unused)\d+$/.test(name)) names.add(name);
    }
  }
  return names;
}

const elsewhere = new Set<string>();
for (const directory of Object.values(OTHER_ARCHES)) for (const name of namesIn(directory)) if (!(name in x64) && !(name in arm64)) elsewhere.add(name);
const otherNames = [...elsewhere].sort((a, b) => a.localeCompare(b));

const out = join(__dirname, 'syscall-table.generated.ts');
writeFileSync(
  out,
  `// Generated by agent/kernel/generate-syscall-table.ts from the Linux UAPI headers. Do not edit.\n` +
    `export const SYSCALL_TABLE: Readonly<Record<'x64' | 'arm64', Readonly<Record<string, number>>>> = ${JSON.stringify({ x64, arm64 }, null, 2)};\n` +
    `\n/** System calls of other architectures (${Object.keys(OTHER_ARCHES).join(', ')}) that neither table above has. */\n` +
    `export const OTHER_ARCH_SYSCALL_NAMES: readonly string[] = ${JSON.stringify(otherNames, null, 2)};\n`,
);
console.log(`wrote ${out}: ${Object.keys(x64).length} x86-64 and ${Object.keys(arm64).length} aarch64 system calls, ${otherNames.length} names of other architectures`);
