/*
 * A container's life, as a small state machine (the OCI runtime-spec's, plus "paused"):
 *
 *   creating ──► created ──► running ──► stopped
 *                   │          │  ▲          ▲
 *                   │          ▼  │          │
 *                   │        paused ─────────┘
 *                   └────────────────────────┘
 *
 * "creating" is only ever seen after a crash: a record left in it means the agent died half-way,
 * and the next agent removes everything that container had. Any other move is refused.
 */
import type { ContainerStatus } from '../../protocol';
import { conflict } from '../../errors';

const TRANSITIONS: Record<ContainerStatus, readonly ContainerStatus[]> = {
  creating: ['created', 'stopped'],
  created: ['running', 'stopped'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: [],
};

export function canTransition(from: ContainerStatus, to: ContainerStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(name: string, from: ContainerStatus, to: ContainerStatus): void {
  if (!canTransition(from, to)) throw conflict(`container "${name}" is ${from}; it cannot become ${to}`);
}
