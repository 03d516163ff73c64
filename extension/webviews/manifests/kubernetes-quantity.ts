/*
 * Kubernetes "quantities": how a Pod writes the numbers that end up in cgroup files.
 *
 *   memory: "64Mi"  = 64 × 2^20 bytes → memory.max 67108864      ("64M" would be 64 × 10^6)
 *   cpu:    "500m"  = 500 millicores = half a CPU → cpu.max "50000 100000" (quota per period, µs)
 *
 * Reading them is the protocol's (agent/protocol/quantity.ts: the same rules as `run --memory`,
 * `--cpus`); here they are written back, in the form a person would write.
 */

const BINARY: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** Bytes → the exact quantity a person would write: 67108864 → "64Mi", 1000 → "1000". */
export function memoryQuantity(bytes: number): string {
  for (const [suffix, size] of Object.entries(BINARY).reverse()) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

/** A CFS quota over its period → CPUs as a quantity: 50000/100000 → "500m", 200000/100000 → "2". */
export function cpuQuantity(quotaUs: number, periodUs: number): string {
  const millicores = Math.round((quotaUs / periodUs) * 1000);
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}
