/*
 * A runtime and a supervising pod engine of a test file's own, on a fresh state root and a bridge
 * and subnet of its own; after the file every pod is deleted and the kernel asked what is left.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import type { PodRecord } from '../../agent/protocol';
import type { ContainerRuntime } from '../../agent/runtime/api';
import { openRuntime } from '../../agent/runtime/runtime';
import { PodEngine } from '../../agent/pods/engine/pod-engine';
import { hostMountsMentioning, processExists, removeBridgeIfCreated } from './kernel-witness';

export interface PodFixture {
  runtime(): ContainerRuntime;
  engine(): PodEngine;
  /** An agent restart: the engine and runtime closed (containers keep running) and opened again on the same state root. */
  reopen(): void;
  /** Polls get(name) until `ready` says so (or fails after `ms`). */
  waitFor(name: string, ready: (pod: PodRecord) => boolean, ms?: number): Promise<PodRecord>;
}

export function usePods(label: string, bridge: string, subnet: string): PodFixture {
  let stateRoot: string;
  let runtime: ContainerRuntime;
  let engine: PodEngine;
  let removeBridge: () => void = () => undefined;
  const pids: number[] = [];

  const open = (): void => {
    runtime = openRuntime({ stateRoot, defaultBridge: { name: bridge, subnet } });
    runtime.events.on('container.changed', (change) => {
      if (change.summary.pid) pids.push(change.summary.pid);
    });
    engine = new PodEngine(runtime, { supervise: true });
  };

  beforeAll(() => {
    stateRoot = mkdtempSync(`/tmp/cl-pods-${label}-`);
    removeBridge = removeBridgeIfCreated(bridge);
    open();
  });

  afterAll(async () => {
    for (const pod of engine.list()) await engine.delete({ name: pod.name, gracePeriodSeconds: 0 });
    for (const container of runtime.list()) await runtime.remove(container.id, true);
    engine.close();
    runtime.close();
    expect(pids.filter((pid) => processExists(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sleep'))).toEqual([]);
    expect(hostMountsMentioning(stateRoot)).toEqual([]);
    expect(existsSync(`${stateRoot}/pods`) ? readdirSync(`${stateRoot}/pods`) : []).toEqual([]);
    removeBridge();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  return {
    runtime: () => runtime,
    engine: () => engine,
    reopen() {
      engine.close();
      runtime.close();
      open();
    },
    async waitFor(name, ready, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        // Not there yet (a static pod file not read yet) counts as not ready.
        let pod: PodRecord | null = null;
        try {
          pod = engine.get(name);
        } catch {
          pod = null;
        }
        if (pod && ready(pod)) return pod;
        if (Date.now() > deadline) throw new Error(`pod ${name} not as expected after ${ms} ms: ${JSON.stringify(pod ? { status: pod.status, events: pod.events } : 'no such pod')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
