/*
 * A tiny Markdown reader for lab texts: headings, paragraphs, ordered and bulleted lists, fenced
 * code, inline code, **bold** and *italic*. It produces a small tree of blocks and inline spans —
 * never HTML — and the page builds DOM nodes from it with textContent only (view/markdown-dom.ts).
 * So a lab file, whatever it contains, cannot put markup or script into the page: "<b>" in a task
 * is shown as the four characters it is. Anything this reader does not know stays plain text.
 */

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; children: Inline[] }
  | { kind: 'em'; children: Inline[] };

export type Block =
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'list'; ordered: boolean; start: number; items: Inline[][] }
  | { kind: 'code'; language: string | null; text: string };

const FENCE = /^(\s*)(```|~~~)\s*([\w+-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|(\d{1,9})[.)])\s+(.*)$/;

export function parseMarkdown(source: string): Block[] {
  const reader = new BlockReader(source.replace(/\r\n?/g, '\n').split('\n'));
  return reader.read();
}

interface OpenList {
  ordered: boolean;
  start: number;
  /** The marker's indentation: deeper lines continue the item. */
  indent: number;
  items: string[][];
}

/** Reads lines top to bottom, collecting the paragraph or list being built until something ends it. */
class BlockReader {
  private readonly blocks: Block[] = [];
  private paragraph: string[] = [];
  private list: OpenList | null = null;

  constructor(private readonly lines: string[]) {}

  read(): Block[] {
    for (let index = 0; index < this.lines.length; index++) {
      const line = this.lines[index]!;
      const fence = FENCE.exec(line);
      if (fence) {
        index = this.code(index, fence[1]!, fence[2]!, fence[3] || null);
      } else if (line.trim() === '') {
        this.blank(index);
      } else {
        this.line(line);
      }
    }
    this.endParagraph();
    this.endList();
    return this.blocks;
  }

  /** A fenced code block from `start` to its closing fence; returns the closing fence's index. */
  private code(start: number, indent: string, marker: string, language: string | null): number {
    this.endParagraph();
    this.endList();
    const body: string[] = [];
    let index = start + 1;
    for (; index < this.lines.length; index++) {
      const line = this.lines[index]!;
      if (line.trim() === marker) break;
      // Code keeps its own indentation, less the fence's.
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    this.blocks.push({ kind: 'code', language, text: body.join('\n') });
    return index;
  }

  private blank(index: number): void {
    this.endParagraph();
    // A blank line ends a list unless the next text goes on with it: another item, or an indented continuation.
    if (!this.list) return;
    const next = this.lines.slice(index + 1).find((candidate) => candidate.trim() !== '');
    const continues = next !== undefined && (LIST_ITEM.test(next) || leadingSpaces(next) > this.list.indent);
    if (!continues) this.endList();
  }

  private line(line: string): void {
    const heading = HEADING.exec(line);
    if (heading) {
      this.endParagraph();
      this.endList();
      this.blocks.push({ kind: 'heading', level: heading[1]!.length, content: parseInline(heading[2]!) });
      return;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      this.endParagraph();
      const ordered = item[3] !== undefined;
      if (!this.list || this.list.ordered !== ordered) {
        this.endList();
        this.list = { ordered, start: ordered ? Number(item[3]) : 1, indent: item[1]!.length, items: [] };
      }
      this.list.items.push([item[4]!.trim()]);
      return;
    }
    if (this.list) {
      // A line under an item (indented, or "lazy" right after it) continues that item.
      this.list.items[this.list.items.length - 1]!.push(line.trim());
      return;
    }
    this.paragraph.push(line.trim());
  }

  private endParagraph(): void {
    if (this.paragraph.length > 0) this.blocks.push({ kind: 'paragraph', content: parseInline(this.paragraph.join(' ')) });
    this.paragraph = [];
  }

  private endList(): void {
    if (this.list) this.blocks.push({ kind: 'list', ordered: this.list.ordered, start: this.list.start, items: this.list.items.map((item) => parseInline(item.join(' '))) });
    this.list = null;
  }
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

/** `code` first (nothing inside it is markup), then **strong** and *em* / _em_, which may nest. */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let plain = '';
  const pushText = (): void => {
    if (plain) out.push({ kind: 'text', text: plain });
    plain = '';
  };
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length && /[\\`*_#\-+.!()[\]{}]/.test(text[index + 1]!)) {
      plain += text[index + 1];
      index += 2;
      continue;
    }
    if (char === '`') {
      const run = /^`+/.exec(text.slice(index))![0];
      const close = text.indexOf(run, index + run.length);
      if (close !== -1) {
        pushText();
        const code = text.slice(index + run.length, close);
        out.push({ kind: 'code', text: code.length > 2 && code.startsWith(' ') && code.endsWith(' ') ? code.slice(1, -1) : code });
        index = close + run.length;
        continue;
      }
    }
    if (text.startsWith('**', index) || text.startsWith('__', index)) {
      const marker = text.slice(index, index + 2);
      const close = findClosing(text, marker, index + 2);
      if (close !== -1) {
        pushText();
        out.push({ kind: 'strong', children: parseInline(text.slice(index + 2, close)) });
        index = close + 2;
        continue;
      }
    }
    if ((char === '*' || char === '_') && text[index + 1] !== ' ' && (char === '*' || !/\w/.test(text[index - 1] ?? ''))) {
      const close = findClosing(text, char, index + 1);
      if (close !== -1 && close > index + 1) {
        pushText();
        out.push({ kind: 'em', children: parseInline(text.slice(index + 1, close)) });
        index = close + 1;
        continue;
      }
    }
    plain += char;
    index++;
  }
  pushText();
  return out;
}

/** Where `marker` closes an emphasis opened before `from`, skipping code spans; -1 if it does not. */
function findClosing(text: string, marker: string, from: number): number {
  let index = from;
  while (index < text.length) {
    if (text[index] === '`') {
      const run = /^`+/.exec(text.slice(index))![0];
      const close = text.indexOf(run, index + run.length);
      if (close !== -1) {
        index = close + run.length;
        continue;
      }
    }
    if (text.startsWith(marker, index) && text[index - 1] !== ' ') {
      // A single * must not be the first half of **.
      if (marker.length === 1 && text[index + 1] === marker) {
        index += 2;
        continue;
      }
      return index;
    }
    index++;
  }
  return -1;
}

/** The text a block shows (tests and accessibility labels). */
export function inlineText(content: readonly Inline[]): string {
  return content.map((span) => (span.kind === 'text' || span.kind === 'code' ? span.text : inlineText(span.children))).join('');
}
