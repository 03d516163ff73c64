/*
 * `containers-lab dial-stdio`: a byte pipe between stdin/stdout and the agent's Unix socket.
 *
 * Why it exists: the VS Code extension reaches the agent through SSH, and the agent opens no TCP
 * port. When the SSH user is root, OpenSSH can forward a channel straight to the socket
 * ("direct-streamlocal"). Otherwise the extension runs `sudo -n node containers-lab.js dial-stdio`
 * in an SSH exec channel: the channel's stdin/stdout become this process's, and this process —
 * root through sudo, so it may open the root-only socket — copies bytes both ways, unchanged. It
 * understands nothing of the protocol, like `socat - UNIX-CONNECT:…`, and keeps nothing.
 *
 * It ends when either side ends: stdin's EOF half-closes the socket (the agent then closes the
 * connection), and the socket closing ends this process.
 */
import { connectSocket, isNoAgent } from '../../service/client';
import type { Socket } from 'node:net';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';

const spec: VerbSpec = {
  name: 'dial-stdio',
  summary: "Pipe stdin/stdout to the agent's Unix socket (how the extension reaches it through SSH).",
  usage: 'dial-stdio [--socket PATH]',
  options: [],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
};

async function connect(socketPath: string): Promise<Socket> {
  try {
    return await connectSocket(socketPath);
  } catch (error) {
    const reason = isNoAgent(error) ? 'no agent answers there' : ((error as NodeJS.ErrnoException).code ?? String(error));
    throw new Error(`cannot reach the agent at ${socketPath}: ${reason}`);
  }
}

async function execute(_args: ParsedArgs, context: CliContext): Promise<number> {
  const { stdin, stdout } = context.io;
  const socket = await connect(context.socketPath);
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      stdin.unpipe(socket);
      // stdin may stay open (the SSH channel outlives the agent): stop reading so the process can exit.
      stdin.destroy();
      resolve(code);
    };
    socket.on('error', () => finish(1));
    socket.on('close', () => finish(0));
    stdout.on('error', () => socket.destroy());
    stdin.pipe(socket); // stdin's end → socket.end(): the agent sees EOF and closes its side.
    socket.pipe(stdout, { end: false });
  });
}

export const dialStdioVerb: Verb = { spec, execute };
