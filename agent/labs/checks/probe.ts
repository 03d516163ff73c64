/*
 * Check "probe": behaviour. The pod container's readiness, liveness or startup probe, run once
 * now the way the kubelet runs it (../../pods/engine/handlers.ts: a command in the container, an
 * HTTP GET to the pod's IP, a TCP connection) with the probe's own timeout. A probe that names a
 * wrong port or path fails here as it fails on the node — whether or not a service is there to
 * run it on a timer.
 */
import { runHandler, type Handler } from '../../pods/engine/handlers';
import type { Container, Probe } from '../../pods/manifest/types';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf } from './outcome';
import { podRecord } from './pod';

const FIELD = { readiness: 'readinessProbe', liveness: 'livenessProbe', startup: 'startupProbe' } as const;

export async function checkProbe(params: CheckParamsByKind['probe'], context: LabContext): Promise<void> {
  const pod = podRecord(context, params.pod);
  if (!pod) throw new CheckFailed(`no pod named "${params.pod}" (containers-lab get pods)`);
  const spec = (pod.manifest as { spec?: { containers?: Container[] } }).spec;
  const container = spec?.containers?.find((entry) => entry.name === params.container);
  if (!container) throw new CheckFailed(`pod "${params.pod}" has no container "${params.container}"`);
  const probe = container[FIELD[params.probe]] as Probe | undefined;
  if (!probe) throw new CheckFailed(`container "${params.container}" of pod "${params.pod}" has no ${FIELD[params.probe]}`);
  const status = pod.status.containerStatuses.find((entry) => entry.name === params.container);
  if (!status?.containerID || !status.state.running) throw new CheckFailed(`container "${params.container}" of pod "${params.pod}" is not running`);
  const result = await runHandler(probe as Handler, { runtime: context.runtime, containerId: status.containerID, container, host: pod.status.podIP }, (probe.timeoutSeconds ?? 1) * 1000);
  failIf(result.ok !== params.succeeds, `the ${params.probe} probe ${result.ok ? 'succeeded' : `failed: ${result.message}`}`);
}
