/*
 * Bytes for a VS Code terminal. A Pseudoterminal is a terminal emulator with no kernel TTY behind
 * it on our side: the agent's exec with tty:true has a real pty in the VM whose line discipline
 * already turns "\n" into "\r\n" (the ONLCR flag), so shell output is passed through untouched.
 * A container's log file is different — raw bytes the process wrote, with bare "\n" — so log
 * text gets the carriage returns a TTY would have added, or each line would start where the
 * previous one ended.
 */

/** Base64 from the agent → the text to write (UTF-8, multi-byte sequences split across chunks are kept). */
export class Base64TextDecoder {
  private readonly decoder = new TextDecoder('utf-8');

  decode(base64: string): string {
    return this.decoder.decode(Buffer.from(base64, 'base64'), { stream: true });
  }
}

/** "a\nb\r\nc" → "a\r\nb\r\nc". */
export function withCarriageReturns(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** Keyboard input (a JS string from VS Code) → base64 for exec.input. */
export function encodeInput(data: string): string {
  return Buffer.from(data, 'utf8').toString('base64');
}

/** The environment for an interactive shell: the container's own, with TERM set for xterm.js. */
export function shellEnvironment(containerEnv: string[] | undefined): string[] {
  const env = (containerEnv ?? []).filter((entry) => !entry.startsWith('TERM='));
  if (!env.some((entry) => entry.startsWith('PATH='))) env.push('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  env.push('TERM=xterm-256color');
  return env;
}
