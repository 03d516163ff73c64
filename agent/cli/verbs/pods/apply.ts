/*
 * `containers-lab apply -f pod.yaml`: run the Pod a manifest describes, as a kubelet would (agent/pods/).
 */
import { readFileSync } from 'node:fs';
import { stringOption } from '../../../command-line/args';
import type { ParsedArgs } from '../../../command-line/args';
import { APPLY_SPEC } from '../../../command-line/verbs';
import { badInput } from '../../../errors';
import type { CliContext, Verb } from '../../context';
import { writeAll } from '../../context';

const spec = APPLY_SPEC;

export async function readManifestFile(args: ParsedArgs, context: CliContext): Promise<{ yaml: string; file: string }> {
  const file = stringOption(args, 'filename');
  if (file === undefined) throw badInput('give the Pod YAML with -f FILE');
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of context.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return { yaml: Buffer.concat(chunks).toString('utf8'), file: 'STDIN' };
  }
  try {
    return { yaml: readFileSync(file, 'utf8'), file };
  } catch (error) {
    throw badInput(`the path "${file}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const manifest = await readManifestFile(args, context);
  const agent = await context.openAgent();
  try {
    const result = await agent.client.call('pod.apply', manifest);
    await writeAll(context.io.stdout, `pod/${result.name} ${result.action}\n`);
    if (agent.mode === 'standalone') await writeAll(context.io.stderr, 'containers-lab: no agent is serving: restarts and probes run while `containers-lab serve` does\n');
    return 0;
  } finally {
    agent.close();
  }
}

export const applyVerb: Verb = { spec, execute };
