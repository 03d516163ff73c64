/*
 * nftables, through Debian's `nft` command.
 *
 * The kernel's packet filter, netfilter, offers hooks along a packet's way through the IP stack —
 * prerouting (just arrived), input (for this host), forward (passing through), output (made by
 * this host), postrouting (about to leave). nftables lets a program hang "base chains" of rules on
 * those hooks. Chains live in tables; a table belongs to whoever made it, and many tables may hook
 * the same point (each with its own priority), so the agent keeps everything of its own in ONE
 * table, `table ip containers_lab`, and never reads, flushes or edits anyone else's.
 *
 * `nft -f -` reads a script and hands the kernel all of it as one transaction: every line applies,
 * or none does — no packet ever sees half a change. `nft -j -a list table …` prints the table as
 * the kernel has it, as JSON, with each rule's handle (its number within the table): deleting a
 * rule means naming its handle, and finding the handle means reading the rule's comment, which
 * always says whose rule it is.
 *
 * Reading the table and then changing it is two steps, and two agents (a service and a one-shot
 * CLI, or two test runs) must not interleave theirs, so both happen under an flock(2) — one lock
 * per network namespace, since each network namespace has a netfilter of its own. The lock and
 * the notes of ./host-switches.ts live in /run, which, like the kernel's tables and sysctls,
 * starts empty at every boot.
 */
import { spawnSync } from '../../../lazy-builtins';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../../errors';
import { tryLockExclusive } from '../../../kernel/file-locks';
import { netnsInode, OWN_NETNS_PATH } from '../netns';

export const TABLE_FAMILY = 'ip';
export const TABLE_NAME = 'containers_lab';
export const TABLE = `${TABLE_FAMILY} ${TABLE_NAME}`;

/** Where the agent keeps notes about the netfilter of one network namespace (this thread's). */
export const NOTES_ROOT = '/run/containers-lab/netfilter';

const NFT_CANDIDATES = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];
const LOCK_TIMEOUT_MS = 10_000;

/** A rule as `nft -j -a list table` reports it; `expr` is nftables' JSON expression list. */
export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

export interface NftChain {
  family: string;
  table: string;
  name: string;
  handle: number;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

export interface NftTableView {
  chains: NftChain[];
  rules: NftRule[];
}

/** The nft program, or null when nftables is not installed. */
export function nftProgram(): string | null {
  return NFT_CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export function requireNft(what: string): string {
  const program = nftProgram();
  if (!program) throw new LabError('unsupported', `${what} needs nftables' nft command, which this host lacks: apt-get install nftables`);
  return program;
}

function run(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const program = requireNft('publishing ports and the way out');
  const result = spawnSync(program, args, { input, encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw new Error(`${program} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** nft's own complaint in one line: its "Error: …" lines, without the echoed script and carets. */
function nftError(stderr: string): string {
  const errors = stderr.split('\n').filter((line) => line.includes('Error:')).map((line) => line.trim());
  return (errors.length ? errors : [stderr.trim() || 'failed']).join('; ');
}

/** The agent's table as the kernel has it; null when it does not exist. */
export function listTable(): NftTableView | null {
  const result = run(['-j', '-a', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  if (result.status !== 0) {
    if (/No such file or directory/.test(result.stderr)) return null;
    throw new Error(`nft list table ${TABLE}: ${nftError(result.stderr)}`);
  }
  const items = (JSON.parse(result.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  return {
    chains: items.flatMap((item) => ('chain' in item ? [item.chain as NftChain] : [])),
    rules: items.flatMap((item) => ('rule' in item ? [item.rule as NftRule] : [])),
  };
}

/** The names of every table in the ruleset other than the agent's ("ip nat", "inet filter"…), with their chains. */
export function otherTables(): { table: string; chains: NftChain[] }[] {
  const result = run(['-j', 'list', 'ruleset']);
  if (result.status !== 0) throw new Error(`nft list ruleset: ${nftError(result.stderr)}`);
  const items = (JSON.parse(result.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  const tables = new Map<string, NftChain[]>();
  for (const item of items) {
    if ('table' in item) {
      const table = item.table as { family: string; name: string };
      if (`${table.family} ${table.name}` !== TABLE) tables.set(`${table.family} ${table.name}`, []);
    } else if ('chain' in item) {
      const chain = item.chain as NftChain;
      tables.get(`${chain.family} ${chain.table}`)?.push(chain);
    }
  }
  return [...tables].map(([table, chains]) => ({ table, chains }));
}

/** Applies a script (one command a line) as one transaction: all of it or, on error, none. */
export function applyScript(lines: string[]): void {
  if (lines.length === 0) return;
  const result = run(['-f', '-'], `${lines.join('\n')}\n`);
  if (result.status !== 0) throw new Error(`nft -f (${lines.length} changes to table ${TABLE}): ${nftError(result.stderr)}`);
}

/** This network namespace's directory of notes (the lock, ./host-switches.ts' previous values). */
export function notesDirectory(): string {
  const directory = join(NOTES_ROOT, `net-${netnsInode(OWN_NETNS_PATH)}`);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  return directory;
}

/**
 * Forgets the notes of the network namespace at `netnsPath` (/run/netns/NAME), for whoever is about
 * to delete that namespace: its table and its switches go with it, and nothing will give back what
 * the notes remember. Without this, every deleted namespace (a lab's node, a test's) left its
 * directory in /run until the next boot.
 */
export function forgetNotesOf(netnsPath: string): void {
  if (existsSync(netnsPath)) rmSync(join(NOTES_ROOT, `net-${netnsInode(netnsPath)}`), { recursive: true, force: true });
}

/** Runs `work` holding this network namespace's netfilter lock (others wait, polling, up to 10 s). */
export function withNetfilterLock<T>(work: (notes: string) => T): T {
  const notes = notesDirectory();
  const fd = openSync(join(notes, 'lock'), 'a', 0o600);
  try {
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (!tryLockExclusive(fd, `${notes}/lock`)) {
      if (Date.now() > deadline) throw new LabError('conflict', `another agent has held ${notes}/lock for ${LOCK_TIMEOUT_MS / 1000} s: try again`);
      Atomics.wait(pause, 0, 0, 5);
    }
    return work(notes);
  } finally {
    closeSync(fd); // and with it the lock
  }
}
