/*
 * Check "http": does a server answer? The check asks as a client would — busybox `wget` inside the
 * `from` container — so it passes only when something really serves HTTP there: a container that
 * shares a pod's network namespace reaches its neighbour on localhost (127.0.0.1 in its own
 * namespace), any other on the neighbour's address; `to: gateway` asks the node itself through the
 * container's own gateway (a published port reached from a container: the hairpin). Requests only
 * ever go to 127.0.0.1 inside a container, to an address of a container this agent made, or to the
 * gateway of a bridge it made.
 */
import type { CheckParamsByKind } from '../format';
import { execCapture, type LabContext } from '../context';
import { CheckFailed, existing, failIf, running } from './outcome';

export async function checkHttp(params: CheckParamsByKind['http'], context: LabContext): Promise<void> {
  running(context, params.from);
  let host = '127.0.0.1';
  if (params.to === 'gateway') {
    const gateway = existing(context, params.from).network.gateway;
    if (!gateway) throw new CheckFailed(`"${params.from}" has no gateway`);
    host = gateway;
  } else if (params.to !== 'localhost') {
    const ip = existing(context, params.to).network.ip;
    if (!ip) throw new CheckFailed(`"${params.to}" has no IP address`);
    host = ip;
  }
  const url = `http://${host}:${params.port}${params.path ?? '/'}`;
  // No `-T`: busybox 1.35's wget dies of SIGSEGV with it; the exec's own time limit bounds the wait.
  const result = await execCapture(context.runtime, params.from, ['wget', '-q', '-O', '-', url], 5_000);
  failIf(result.code !== 0, `GET ${url} from "${params.from}" failed: ${result.stderr.trim().split('\n').pop() || `exit code ${result.code}`}`);
  if (params.contains !== undefined) failIf(!result.stdout.includes(params.contains), `GET ${url} from "${params.from}" answered "${result.stdout.trim().slice(0, 60)}"`);
}
