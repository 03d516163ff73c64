/*
 * Kubernetes "quantities": how a Pod writes the numbers that end up in cgroup files.
 *
 *   memory: "64Mi"  = 64 × 2^20 bytes → memory.max 67108864      ("64M" would be 64 × 10^6)
 *   cpu:    "500m"  = 500 millicores = half a CPU → cpu.max "50000 100000" (quota per period, µs)
 *
 * Only the forms people write are accepted; anything else is refused with one line.
 */

const BINARY: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Bytes → the exact quantity a person would write: 67108864 → "64Mi", 1000 → "1000". */
export function memoryQuantity(bytes: number): string {
  for (const [suffix, size] of Object.entries(BINARY).reverse()) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

/** "64Mi", "1Gi", "500M", "1048576" (or a number) → bytes; throws on anything else. */
export function parseMemoryQuantity(value: unknown, where: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text.trim()) : null;
  if (!match) throw new Error(`${where}: invalid memory quantity ${JSON.stringify(value)}: use e.g. 64Mi, 1Gi or bytes`);
  const suffix = match[2] ?? '';
  const bytes = Math.round(Number(match[1]) * (BINARY[suffix] ?? DECIMAL[suffix]!));
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`${where}: invalid memory quantity ${JSON.stringify(value)}`);
  return bytes;
}

/** A CFS quota over its period → CPUs as a quantity: 50000/100000 → "500m", 200000/100000 → "2". */
export function cpuQuantity(quotaUs: number, periodUs: number): string {
  const millicores = Math.round((quotaUs / periodUs) * 1000);
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

/** "500m", "0.5", "2" (or a number) → CPUs; throws on anything else. */
export function parseCpuQuantity(value: unknown, where: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)(m?)$/.exec(text.trim()) : null;
  const cpus = match ? Number(match[1]) / (match[2] === 'm' ? 1000 : 1) : NaN;
  if (!match || !(cpus > 0)) throw new Error(`${where}: invalid cpu quantity ${JSON.stringify(value)}: use e.g. 500m or 0.5`);
  return cpus;
}
