/*
 * How the CLI reports failure: exactly one line on stderr, "containers-lab: <message>", and a
 * non-zero exit code — 2 when the command line itself was wrong, 1 for everything else.
 */
import { UsageError } from '../command-line/args';

export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

export function errorLine(error: unknown): string {
  return `containers-lab: ${errorMessage(error)}\n`;
}

export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? 2 : 1;
}
