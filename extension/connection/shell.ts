/*
 * Building POSIX shell command lines for an SSH exec channel. The remote side runs every exec
 * request through the user's login shell, so each path must be quoted: single quotes make every
 * character literal, and a single quote itself is written as '\'' (close, escaped quote, reopen).
 */

export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** Prefixes a command with `sudo -n` (never prompt: fail instead) unless we already are root. */
export function asRoot(command: string, isRoot: boolean): string {
  return isRoot ? command : `sudo -n sh -c ${shellQuote(command)}`;
}
