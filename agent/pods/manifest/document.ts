/*
 * Pod YAML as text with positions. kubectl names a bad field by its path
 * ("spec.containers[0].image"); an editor needs the line too. The `yaml` package keeps each node's
 * offset in the source, so a field path can be turned back into the line it was written on.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { badInput, excerpt } from '../../errors';

export type FieldPath = readonly (string | number)[];

/** One problem with a manifest: the field, its line (1-based; 0 when unknown) and what is wrong. */
export interface ManifestProblem {
  path: string;
  line: number;
  message: string;
}

export interface PodDocument {
  /** The parsed document as plain data. */
  value: unknown;
  /** The line a field (or, for a missing one, its nearest written parent) is on. */
  lineOf(path: FieldPath): number;
}

/** The largest Pod YAML the agent reads: a manifest is a page, not a megabyte. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** "spec.containers[0].image" */
export function formatPath(path: FieldPath): string {
  let text = '';
  for (const segment of path) text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  return text;
}

/** Parses one YAML document; a syntax error is one line with its line number. */
export function parsePodDocument(text: string, file = 'pod.yaml'): PodDocument {
  if (typeof text !== 'string') throw badInput('a Pod manifest must be YAML text');
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) throw badInput(`${file}: a Pod manifest of more than ${MAX_MANIFEST_BYTES / 1024} KiB is not read`);
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line ?? counter.linePos(error.pos[0]).line;
    throw badInput(`${file}:${line}: error converting YAML to JSON: ${excerpt(error.message.split('\n')[0] ?? '', 120)}`);
  }
  const lineAt = (offset: number | undefined): number => (offset === undefined ? 0 : counter.linePos(offset).line);
  return {
    value: document.toJS({ maxAliasCount: 100 }),
    lineOf(path) {
      let node: unknown = document.contents;
      let line = lineAt((document.contents as Node | null)?.range?.[0]);
      for (const segment of path) {
        if (isMap(node)) {
          const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
          if (!pair) return line;
          line = lineAt((pair.key as Node).range?.[0]);
          node = pair.value;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item = node.items[segment] as Node | undefined;
          if (!item) return line;
          line = lineAt(item.range?.[0]);
          node = item;
        } else {
          return line;
        }
      }
      return line;
    },
  };
}
