/*
 * Markdown blocks (../markdown.ts) as DOM nodes. Every piece of lab text enters the page through
 * document.createTextNode (inside h()), never through innerHTML: the lab's text is data.
 */
import { h } from '../../shared/view/vscode-api';
import type { Block, Inline } from '../markdown';

export function renderInline(content: readonly Inline[]): (Node | string)[] {
  return content.map((span) => {
    switch (span.kind) {
      case 'text':
        return span.text;
      case 'code':
        return h('code', {}, span.text);
      case 'strong':
        return h('strong', {}, ...renderInline(span.children));
      case 'em':
        return h('em', {}, ...renderInline(span.children));
    }
  });
}

export function renderBlocks(blocks: readonly Block[]): HTMLElement[] {
  return blocks.map((block) => {
    switch (block.kind) {
      case 'heading': {
        // The panel's own title is h1 and its sections h2: a lab's headings sit below them.
        const level = Math.min(6, block.level + 2) as 3 | 4 | 5 | 6;
        return h(`h${level}`, {}, ...renderInline(block.content));
      }
      case 'paragraph':
        return h('p', {}, ...renderInline(block.content));
      case 'list': {
        const items = block.items.map((item) => h('li', {}, ...renderInline(item)));
        return block.ordered ? h('ol', { start: block.start === 1 ? undefined : block.start }, ...items) : h('ul', {}, ...items);
      }
      case 'code':
        return h('pre', { 'data-language': block.language ?? undefined }, h('code', {}, block.text));
    }
  });
}
