/*
 * What a container runs, by Kubernetes' rules over the image's Entrypoint and Cmd:
 *
 *   command   args    runs
 *   —         —       Entrypoint + Cmd (the image's own)
 *   —         yes     Entrypoint + args
 *   yes       —       command (the image's Cmd is dropped too)
 *   yes       yes     command + args
 *
 * Docker's --entrypoint behaves like `command` here, so the runtime's run options say it exactly:
 * `entrypoint` for command, `args` for args. The built-in busybox has no Entrypoint or Cmd; its
 * default is the runtime's idle shell.
 */
import type { RunOptions } from '../../protocol';
import type { Container } from '../manifest/types';

/** $(VAR) from the container's environment, as Kubernetes expands command, args and env; $$ escapes. */
export function expandVariables(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return env.has(name!) ? env.get(name!)! : match;
  });
}

export function commandOptions(container: Container, builtIn: boolean, env: ReadonlyMap<string, string>): Pick<RunOptions, 'entrypoint' | 'args'> {
  const command = container.command?.map((word) => expandVariables(word, env));
  const args = container.args?.map((word) => expandVariables(word, env));
  if (builtIn) {
    const words = [...(command ?? []), ...(args ?? [])];
    return words.length > 0 ? { args: words } : {};
  }
  if (command !== undefined) return { entrypoint: command, args: args ?? [] };
  return args !== undefined ? { args } : {};
}
