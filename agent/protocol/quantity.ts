/*
 * Sizes and CPUs as people write them: Kubernetes quantities and Docker sizes.
 *
 * Two traditions meet at `--memory`, and they disagree about letters:
 *
 *   Kubernetes (a Pod's resources.limits) — case matters:
 *     128Mi  = 128 × 1024² = 134217728   binary suffixes Ki Mi Gi Ti Pi are powers of 1024
 *     128M   = 128 × 1000² = 128000000   decimal suffixes k M G T P are powers of 1000
 *     129e6  = 129 × 10⁶                 exponent form
 *     and "m" means milli (1/1000): cpu "500m" is half a CPU, memory "128m" would be 0.128 bytes.
 *
 *   Docker (`docker run --memory 64m`) — case does not matter and every suffix is binary:
 *     64m = 64 MiB, 1g = 1 GiB, 512k = 512 KiB, 64mb = 64MB = 64 MiB.
 *
 * The rule here, so that no spelling means two things:
 *   - Ki Mi Gi Ti Pi (also written KiB … PiB) → 1024ⁿ, as in Kubernetes.
 *   - k M G T P, and exponents (129e6)        → 1000ⁿ and 10ⁿ, as in Kubernetes: k is 1000, not Docker's 1024.
 *   - lowercase b, m, mb, g, gb, t, tb         → Docker's binary meaning (64m = 64 MiB), because a memory
 *                                                limit in milli-bytes is meaningless and lab files write 64m.
 *   - K, kb, KB, MB, GB, … (any other spelling of one letter with or without "b") → refused, because
 *     Docker and Kubernetes/SI read them differently; the message names the two unambiguous choices.
 *   - Decimals are fine (1.5Gi); a fraction of a byte is rounded up to the next byte, as Kubernetes does.
 *
 * CPUs: a number of CPUs (0.5, 2) or Kubernetes millicores (500m = 0.5 CPU). The kernel receives
 * neither: the CFS quota is cpus × period microseconds (0.5 CPU → "50000 100000" in cpu.max).
 *
 * Byte arithmetic is exact (BigInt): in floating point 1.1k is 1100.0000000000002, which rounding
 * up would turn into 1101 bytes.
 */
import { badInput, quote } from '../errors';

/** What --memory (or any size) accepts, for messages. */
export const MEMORY_FORMS = "bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker's m/g (e.g. 128Mi, 64m)";

/** What --cpus accepts, for messages. */
export const CPU_FORMS = 'a number of CPUs above 0 or millicores, e.g. 0.5 or 500m';

const KI = 1024n;
const K = 1000n;
const SUFFIXES: Record<string, bigint> = {
  '': 1n,
  Ki: KI, Mi: KI ** 2n, Gi: KI ** 3n, Ti: KI ** 4n, Pi: KI ** 5n,
  KiB: KI, MiB: KI ** 2n, GiB: KI ** 3n, TiB: KI ** 4n, PiB: KI ** 5n,
  k: K, M: K ** 2n, G: K ** 3n, T: K ** 4n, P: K ** 5n,
  b: 1n, m: KI ** 2n, mb: KI ** 2n, g: KI ** 3n, gb: KI ** 3n, t: KI ** 4n, tb: KI ** 4n,
};

/* An optional "+" (Kubernetes allows it), digits with an optional point, then either an exponent
 * or a suffix. No sign other than "+": a negative size is refused by not matching. */
const MEMORY_SYNTAX = /^\+?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/;
const CPU_SYNTAX = /^\+?(\d+\.?\d*|\.\d+)(m?)$/;

/* Beyond this exponent nothing is a plausible size; bounding it keeps 10ⁿ cheap to compute. */
const MAX_EXPONENT = 400;
const MAX_BYTES = BigInt(Number.MAX_SAFE_INTEGER);

/** "500m" keeps its quotes, 0.5 does not; a pasted megabyte shows as its first 40 characters. */
function show(value: unknown): string {
  return quote(value);
}

/**
 * A memory size → bytes: 134217728, "128Mi", "64m", "1.5Gi", "500M", "129e6".
 * `what` names the value in the one-line refusal ("invalid memory …", "invalid size …").
 */
export function parseMemoryQuantity(value: string | number, what = 'memory'): number {
  const refuse = (why = `use ${MEMORY_FORMS}`): Error => badInput(`invalid ${what} ${show(value)}: ${why}`);
  if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string') throw refuse();
  const match = MEMORY_SYNTAX.exec(String(value).trim());
  if (!match) throw refuse();
  const mantissa = match[1]!;
  const exponentText = match[2];
  const suffix = match[3] ?? '';

  const multiplier = SUFFIXES[suffix];
  if (multiplier === undefined) {
    const ambiguous = /^([kmgtp])b?$/i.exec(suffix);
    if (ambiguous) {
      const letter = ambiguous[1]!.toUpperCase();
      throw refuse(`"${suffix}" is ambiguous, use ${letter === 'K' ? 'k' : letter} (1000) or ${letter}i (1024)`);
    }
    throw refuse();
  }
  // Kubernetes takes an exponent or a suffix, never both ("1e3Mi" is not a quantity).
  if (exponentText !== undefined && suffix !== '') throw refuse();
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (Math.abs(exponent) > MAX_EXPONENT) throw refuse();

  const [whole = '', fraction = ''] = mantissa.split('.');
  let numerator = BigInt(`${whole}${fraction}` || '0') * multiplier;
  let denominator = 10n ** BigInt(fraction.length);
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  const bytes = (numerator + denominator - 1n) / denominator; // rounded up, as Kubernetes does
  if (bytes > MAX_BYTES) throw refuse(`too large, at most ${Number.MAX_SAFE_INTEGER} bytes (just under 8Pi)`);
  return Number(bytes);
}

/** A CPU limit → CPUs: 0.5, "0.5", "2", "500m" (millicores: 500m = 0.5). Zero and below are refused. */
export function parseCpuQuantity(value: string | number, what = 'cpus'): number {
  const refuse = (): Error => badInput(`invalid ${what} ${show(value)}: use ${CPU_FORMS}`);
  let cpus: number;
  if (typeof value === 'number') {
    cpus = value;
  } else if (typeof value === 'string') {
    const match = CPU_SYNTAX.exec(value.trim());
    if (!match) throw refuse();
    cpus = match[2] === 'm' ? Number(match[1]) / 1000 : Number(match[1]);
  } else {
    throw refuse();
  }
  if (!Number.isFinite(cpus) || cpus <= 0) throw refuse();
  return cpus;
}
