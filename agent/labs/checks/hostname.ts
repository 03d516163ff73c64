/*
 * Check "hostname": the name the container's UTS namespace holds. The kernel answers
 * uname(2) from the UTS namespace of the *caller*, so the agent asks from inside: it runs
 * `hostname` in the container.
 */
import type { CheckParamsByKind } from '../format';
import { execCapture, type LabContext } from '../context';
import { failIf, running } from './outcome';

export async function checkHostname(params: CheckParamsByKind['hostname'], context: LabContext): Promise<void> {
  running(context, params.container);
  const result = await execCapture(context.runtime, params.container, ['hostname']);
  const name = result.stdout.trim();
  failIf(result.code !== 0, `hostname failed in "${params.container}": ${result.stderr.trim()}`);
  failIf(name !== params.equals, `hostname is "${name}"`);
}
