/*
 * Where each field of a document sits, line by line, so the page can show the document exactly as
 * its text reads and still let a learner select "linux.resources.memory.limit" by clicking it.
 *
 * JSON is YAML too (flow style), so one parser — the `yaml` package's, which records the source
 * range of every node — reads both config.json and the Pod YAML. Each key becomes a span: the line
 * its key is on through the last line of its value.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { ContainerRecord } from '../../../agent/protocol';
import { childPath, itemPath } from './field-paths';

/** config.json exactly as the read-only editor shows it (container-info.ts serves the same text). */
export function configJsonText(record: ContainerRecord): string {
  return `${JSON.stringify(record.config, null, 2)}\n`;
}

export interface FieldSpan {
  path: string;
  /** 0-based lines: where the field starts (its key) and where its value ends. */
  line: number;
  endLine: number;
}

export function documentFields(text: string): FieldSpan[] {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  if (document.errors.length > 0) throw new Error(`cannot read the document: ${document.errors[0]!.message.split('\n')[0]}`);
  const lineOf = (offset: number): number => lines.linePos(offset).line - 1;
  const spans: FieldSpan[] = [];

  const walk = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const here = childPath(path, key);
        const start = pair.key.range?.[0] ?? 0;
        const end = (pair.value as Node | null)?.range?.[1] ?? pair.key.range?.[1] ?? start;
        spans.push({ path: here, line: lineOf(start), endLine: lineOf(Math.max(start, end - 1)) });
        walk(pair.value, here);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const value = isMap(item) || isSeq(item) ? item.toJSON() : isScalar(item) ? item.value : null;
        const here = itemPath(path, index, value);
        const range = (item as Node).range;
        if (range) spans.push({ path: here, line: lineOf(range[0]), endLine: lineOf(Math.max(range[0], range[1] - 1)) });
        walk(item, here);
      });
    }
  };
  walk(document.contents, '');
  return spans;
}
