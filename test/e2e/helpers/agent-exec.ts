import type { AgentClient } from '../../../agent/service/client';

/**
 * Runs a command in a container through an agent client and resolves with its exit code and
 * output. Output and exit notifications can arrive before exec.start answers, so every session's
 * are kept and ours is picked once its id is known.
 */
export async function execThroughAgent(client: AgentClient, containerId: string, args: string[], timeoutMs = 15_000): Promise<{ code: number; output: string }> {
  const outputs = new Map<string, string>();
  const exits = new Map<string, number>();
  const offOutput = client.on('exec.output', (event) => outputs.set(event.session, (outputs.get(event.session) ?? '') + Buffer.from(event.data, 'base64').toString()));
  const offExit = client.on('exec.exit', (event) => exits.set(event.session, event.code));
  try {
    const { session: id } = await client.call('exec.start', { id: containerId, args });
    await client.call('exec.close', { session: id }).catch(() => undefined); // no input: stdin at EOF
    const deadline = Date.now() + timeoutMs;
    while (!exits.has(id)) {
      if (Date.now() > deadline) throw new Error(`${args.join(' ')} did not exit within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { code: exits.get(id)!, output: outputs.get(id) ?? '' };
  } finally {
    offOutput();
    offExit();
  }
}
