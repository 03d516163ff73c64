/*
 * The bounds the runtime puts on a container's limits, in one place for both sides of the
 * protocol: the agent enforces them (agent/runtime/cgroups/limits.ts, agent/oci/from-run-options.ts)
 * and the extension checks a guided form's answers against them as they are typed, so what a step
 * accepts is what the agent accepts. Only what holds on every host is here; what depends on the
 * lab host (its memory, its CPUs) the agent checks when the container is made.
 */

const MiB = 1024 * 1024;

/** Below this a busybox shell cannot even start; such a limit is a typo, not a wish. */
export const MIN_MEMORY_BYTES = 4 * MiB;
/** The kernel refuses CFS quotas below 1 ms and periods outside 1 ms … 1 s. */
export const MIN_CPU_QUOTA_US = 1000;
export const MIN_CPU_PERIOD_US = 1000;
export const MAX_CPU_PERIOD_US = 1_000_000;
export const DEFAULT_CPU_PERIOD_US = 100_000;
/** PID_MAX_LIMIT on 64-bit kernels: no pids.max above it means anything. */
export const MAX_PIDS = 4_194_304;
