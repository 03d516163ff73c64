/*
 * The agent's answer to a Pod YAML it refuses, turned back into places in the editor. The agent
 * reads the manifest as kubectl's API server would and names each problem with the file it was
 * told, the line and the field path, in one line:
 *
 *   The Pod "web" is invalid: web.yaml:9: spec.containers[0].imagePullPolicyy: Not found: …; web.yaml:14: …
 *   web.yaml:3: error converting YAML to JSON: …
 *
 * Each "FILE:LINE: " starts one problem. The column is where the field's own key is written on
 * that line (the last name of the path), else the line's text. No 'vscode' here: unit-tested.
 */

export interface ApplyProblem {
  /** 1-based, as the agent counts. */
  line: number;
  /** "spec.containers[0].image", or "" when the problem is the document's (a YAML syntax error). */
  path: string;
  message: string;
}

/** The name the document is sent under: its base name, without what would confuse "FILE:LINE: ". */
export function manifestFileName(fsPathOrName: string): string {
  const base = fsPathOrName.split(/[\\/]/).pop() || 'pod.yaml';
  return base.replace(/[:;\s]/g, '_');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The problems an error message names for `file` (none: the error is not about a place in it). */
export function applyProblems(message: string, file: string): ApplyProblem[] {
  const marker = new RegExp(`${escapeRegExp(file)}:(\\d+): `, 'g');
  const starts = [...message.matchAll(marker)];
  return starts.map((match, index) => {
    const from = match.index + match[0].length;
    const next = starts[index + 1];
    let text = message.slice(from, next ? next.index : undefined);
    if (next) text = text.replace(/;\s*$/, '');
    else text = text.replace(/\s*\(and \d+ more\)\s*$/, '');
    const field = /^([A-Za-z_$][\w$]*(?:\.[\w$]+|\[\d+\])*): ([\s\S]*)$/.exec(text);
    const line = Math.max(1, Number(match[1]));
    return field ? { line, path: field[1]!, message: field[2]!.trim() } : { line, path: '', message: text.trim() };
  });
}

/** "(and 4 more)" at the end of the agent's message: how many problems it did not spell out. */
export function unlistedProblems(message: string): number {
  return Number(/\(and (\d+) more\)\s*$/.exec(message)?.[1] ?? 0);
}

/** Where on its line a problem is marked: the field's key if the line writes it, else the line's text. */
export function problemColumns(lineText: string, path: string): { start: number; end: number } {
  const key = /([\w$]+)$/.exec(path.replace(/(\[\d+\])+$/, ''))?.[1];
  if (key && !/\[\d+\]$/.test(path)) {
    const at = new RegExp(`(^|[\\s{,-])(["']?)${escapeRegExp(key)}\\2\\s*:`).exec(lineText);
    if (at) {
      const start = at.index + at[1]!.length;
      return { start, end: start + at[2]!.length * 2 + key.length };
    }
  }
  const start = lineText.length - lineText.trimStart().length;
  const end = lineText.trimEnd().length;
  return end > start ? { start, end } : { start: 0, end: lineText.length };
}
