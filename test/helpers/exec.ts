import type { ContainerRuntime } from '../../agent/runtime/api';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in a container through the runtime and collects its output and exit code. */
export function execCollect(runtime: ContainerRuntime, id: string, args: string[], options: { tty?: boolean; input?: string } = {}): Promise<ExecResult> {
  const session = runtime.exec({ id, args, tty: options.tty ?? false });
  let stdout = '';
  let stderr = '';
  session.onOutput((stream, data) => {
    if (stream === 'stdout') stdout += data.toString();
    else stderr += data.toString();
  });
  if (options.input !== undefined) session.write(Buffer.from(options.input));
  if (!options.tty) session.close();
  return new Promise((resolve) => session.onExit((code) => resolve({ code, stdout, stderr })));
}
