/*
 * What the pod engine keeps of each pod on disk (<state root>/pods/<name>/kubelet.json, beside
 * the pod's volumes and /etc files), so an agent restart keeps pods, restart counts, last states
 * and back-off: the Pod as applied, and per container which runtime container stands for it now
 * and stood for it before.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../../kernel/durable-files';
import type { PodContainerState, PodEvent } from '../../protocol';
import type { Pod } from '../manifest/types';
import type { BackoffState } from './backoff';

export interface ContainerTrack {
  name: string;
  init: boolean;
  restartCount: number;
  /** Runtime container ids: now, and the one before (logs --previous). */
  current: string | null;
  previous: string | null;
  backoff: BackoffState;
  /** While a restart waits out its back-off: when it may happen. */
  restartAt: string | null;
  lastState: PodContainerState;
  /** An error that keeps it from being created (CreateContainerError, ErrImageNeverPull…). */
  waiting: { reason: string; message: string } | null;
  /** Probes' verdicts for the current container. */
  started: boolean;
  ready: boolean;
  /** An init container that ran to completion. */
  done: boolean;
  /** The exited runtime container whose end was already acted on (restart planned, or final). */
  settled: string | null;
}

export interface PodTrack {
  name: string;
  namespace: string;
  uid: string;
  source: string;
  createdAt: string;
  /** The manifest text as applied (an unchanged apply or static file is recognised by it). */
  text: string;
  pod: Pod;
  containers: ContainerTrack[];
  events: PodEvent[];
  sandboxId: string | null;
  podIP: string | null;
  /** The pod ended for good (restartPolicy said so), or is being deleted. */
  terminating: boolean;
  failedReason: string | null;
}

export const RECORD_FILE = 'kubelet.json';

export function podRecordPath(podDirectory: string): string {
  return join(podDirectory, RECORD_FILE);
}

export function savePodTrack(podDirectory: string, track: PodTrack): void {
  mkdirSync(podDirectory, { recursive: true });
  writeAtomically(podRecordPath(podDirectory), JSON.stringify(track) + '\n');
}

/** Every pod record under <state root>/pods; unreadable ones are reported and skipped. */
export function loadPodTracks(podsRoot: string, log: (line: string) => void): PodTrack[] {
  if (!existsSync(podsRoot)) return [];
  const tracks: PodTrack[] = [];
  for (const name of readdirSync(podsRoot)) {
    const path = podRecordPath(join(podsRoot, name));
    if (!existsSync(path)) continue;
    try {
      tracks.push(JSON.parse(readFileSync(path, 'utf8')) as PodTrack);
    } catch (error) {
      log(`pod record ${path} is unreadable (${(error as Error).message.split('\n')[0]}): skipped`);
    }
  }
  return tracks;
}
