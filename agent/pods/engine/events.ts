/*
 * The events `describe pod` lists: what the kubelet did and saw (Pulled, Created, Started,
 * Killing, BackOff, Unhealthy, OOMKilled…), an identical repeat counted instead of repeated, the
 * newest hundred kept.
 */
import type { PodEvent } from '../../protocol';

const KEPT = 100;

export function recordEvent(events: PodEvent[], type: PodEvent['type'], reason: string, from: string, message: string, now = new Date()): void {
  const at = now.toISOString();
  const same = events.find((event) => event.reason === reason && event.from === from && event.message === message && event.type === type);
  if (same) {
    same.count += 1;
    same.lastAt = at;
    return;
  }
  events.push({ type, reason, from, message, firstAt: at, lastAt: at, count: 1 });
  if (events.length > KEPT) events.splice(0, events.length - KEPT);
}

/** "spec.containers{app}", as describe's From column names a container. */
export function containerRef(init: boolean, name: string): string {
  return `spec.${init ? 'initContainers' : 'containers'}{${name}}`;
}
