/*
 * Probes, as the kubelet runs them for a running container: the startup probe first (liveness
 * and readiness wait until it has succeeded), then liveness and readiness, each every
 * periodSeconds after initialDelaySeconds, each try bounded by timeoutSeconds. failureThreshold
 * failures in a row fail it: a failed startup or liveness probe kills the container (the restart
 * policy then decides), a failed readiness probe takes the Ready condition away until
 * successThreshold successes in a row give it back.
 */
import type { Container, Probe } from '../manifest/types';
import { runHandler, type Handler, type HandlerTarget } from './handlers';
import type { ContainerTrack } from './record';

export interface ProberHost {
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  changed(): void;
  kill(): Promise<void>;
}

type Kind = 'Startup' | 'Liveness' | 'Readiness';

export class Prober {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly hasReadiness: boolean;

  constructor(container: Container, private readonly track: ContainerTrack, private readonly target: HandlerTarget, private readonly host: ProberHost) {
    this.hasReadiness = container.readinessProbe !== undefined;
    const probes: [Kind, Probe | undefined][] = [['Startup', container.startupProbe], ['Liveness', container.livenessProbe], ['Readiness', container.readinessProbe]];
    for (const [kind, probe] of probes) if (probe) this.schedule(kind, probe, (probe.initialDelaySeconds ?? 0) * 1000, 0, 0);
  }

  private schedule(kind: Kind, probe: Probe, delayMs: number, failures: number, successes: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.probe(kind, probe, failures, successes);
    }, delayMs);
    this.timers.add(timer);
  }

  private async probe(kind: Kind, probe: Probe, failures: number, successes: number): Promise<void> {
    const period = (probe.periodSeconds ?? 10) * 1000;
    // Liveness and readiness wait for the startup probe; a startup probe that passed is done.
    if (kind !== 'Startup' && !this.track.started) return this.schedule(kind, probe, period, failures, successes);
    if (kind === 'Startup' && this.track.started) return;
    const result = await runHandler(probe as Handler, this.target, (probe.timeoutSeconds ?? 1) * 1000);
    if (this.stopped) return;
    if (result.ok) {
      successes += 1;
      failures = 0;
      if (kind === 'Startup') {
        this.track.started = true;
        this.track.ready = !this.hasReadiness;
        this.host.changed();
        return;
      }
      if (kind === 'Readiness' && !this.track.ready && successes >= (probe.successThreshold ?? 1)) {
        this.track.ready = true;
        this.host.changed();
      }
    } else {
      failures += 1;
      successes = 0;
      this.host.event('Warning', 'Unhealthy', `${kind} probe failed: ${result.message}`);
      if (failures >= (probe.failureThreshold ?? 3)) {
        if (kind === 'Readiness') {
          if (this.track.ready) {
            this.track.ready = false;
            this.host.changed();
          }
        } else {
          this.host.event('Normal', 'Killing', `Container ${this.track.name} failed ${kind.toLowerCase()} probe, will be restarted`);
          this.stop();
          await this.host.kill();
          return;
        }
      }
    }
    this.schedule(kind, probe, period, failures, successes);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
