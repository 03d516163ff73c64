/*
 * `containers-lab exec`: run a further process inside a running container — in all of its
 * namespaces and its cgroup, so it sees the container's root, PIDs and hostname and counts against
 * its limits. Output is streamed back as it comes; -i forwards our stdin; -t gives the process a
 * terminal (a pty inside the container) and puts our terminal in raw mode, so keys like Ctrl-C
 * reach the container's shell instead of this CLI, and window resizes are forwarded.
 */
import type { ReadStream, WriteStream } from 'node:tty';
import type { AgentNotifications } from '../../protocol';
import { stringOption, switchOption } from '../../command-line/args';
import type { ParsedArgs } from '../../command-line/args';
import { EXEC_SPEC } from '../../command-line/verbs';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';

type Output = AgentNotifications['exec.output'];

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const tty = switchOption(args, 'tty');
  const interactive = switchOption(args, 'interactive');
  const { stdin, stdout, stderr } = context.io;
  const terminalIn = (stdin as Partial<ReadStream>).isTTY === true ? (stdin as ReadStream) : null;
  const terminalOut = (stdout as Partial<WriteStream>).isTTY === true ? (stdout as WriteStream) : null;
  // As docker does, -t alone gives a terminal but keeps stdin closed; at a keyboard that looks
  // like a shell that ignores every key, so say it once.
  if (tty && !interactive && terminalIn) await writeAll(stderr, 'containers-lab: -t without -i: the command gets a terminal but not your keystrokes (use -it for an interactive shell)\n');

  const agent = await context.openAgent();
  const { client } = agent;
  let session: string | null = null;
  const early: Output[] = [];
  let writing: Promise<void> = Promise.resolve();
  const print = (event: Output): void => {
    const data = Buffer.from(event.data, 'base64');
    writing = writing.then(() => writeAll(event.stream === 'stderr' ? stderr : stdout, data));
  };
  let exited!: (code: number) => void;
  let lost!: (error: Error) => void;
  const exitCode = new Promise<number>((resolve, reject) => {
    exited = resolve;
    lost = reject;
  });
  const earlyExit = new Map<string, number>();
  const offOutput = client.on('exec.output', (event) => {
    if (session === null) early.push(event);
    else if (event.session === session) print(event);
  });
  const offExit = client.on('exec.exit', (event) => {
    if (session === null) earlyExit.set(event.session, event.code);
    else if (event.session === session) exited(event.code);
  });
  const offClose = client.onClose((reason) => lost(new Error(`lost the agent while the command ran: ${reason.message}`)));

  const cleanups: (() => void)[] = [];
  try {
    const container = stringOption(args, 'container');
    const target = await client.call('pod.resolve', { name: args.positionals[0]!, ...(container !== undefined ? { container } : {}) });
    const started = await client.call('exec.start', {
      id: target.id,
      args: args.command!,
      ...(tty ? { tty: true, cols: terminalOut?.columns ?? 80, rows: terminalOut?.rows ?? 24 } : {}),
    });
    session = started.session;
    const mine = session;
    for (const event of early.splice(0)) if (event.session === mine) print(event);
    if (earlyExit.has(mine)) exited(earlyExit.get(mine)!);

    if (interactive) {
      if (tty && terminalIn) {
        terminalIn.setRawMode(true);
        cleanups.push(() => terminalIn.setRawMode(false));
      }
      const onData = (chunk: Buffer | string): void => {
        const data = (typeof chunk === 'string' ? Buffer.from(chunk) : chunk).toString('base64');
        void client.call('exec.input', { session: mine, data }).catch(() => {});
      };
      const onEnd = (): void => void client.call('exec.close', { session: mine }).catch(() => {});
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      });
    } else if (!tty) {
      // No -i: the command reads end-of-file at once, as with `docker exec` (closing a TTY would hang it up).
      await client.call('exec.close', { session: mine }).catch(() => {}); // it may have exited already
    }
    if (tty && terminalOut) {
      const onResize = (): void =>
        void client.call('exec.resize', { session: mine, cols: terminalOut.columns, rows: terminalOut.rows }).catch(() => {});
      terminalOut.on('resize', onResize);
      cleanups.push(() => terminalOut.off('resize', onResize));
    }
    const code = await exitCode;
    await writing;
    return code;
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
    offOutput();
    offExit();
    offClose();
    agent.close();
  }
}

export const execVerb: Verb = { spec: EXEC_SPEC, execute };
