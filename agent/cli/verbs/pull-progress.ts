/*
 * A pull's progress on the terminal, one line per layer, as `docker pull` shows it.
 *
 * The agent sends `image.progress` notifications (bytes so far and total per layer, at most every
 * 100 ms while downloading, and each change of state). On a terminal every layer keeps its line
 * and the lines are redrawn in place (cursor up, clear line: ANSI escapes every terminal
 * emulator knows); into a file or a pipe, where escapes would be noise, only the changes of state
 * are printed, each on a line of its own — a log a person or a test can read.
 */
import type { Writable } from 'node:stream';
import type { ImageLayerState, ImagePullEvent } from '../../protocol';
import { writeAll } from '../context';
import { humanSize, shortImageId } from './image-format';

interface LayerLine {
  digest: string;
  state: ImageLayerState;
  bytes: number;
  total: number;
}

const STATE_TEXT: Record<ImageLayerState, string> = {
  waiting: 'Waiting',
  downloading: 'Downloading',
  downloaded: 'Download complete',
  present: 'Already exists',
  unpacking: 'Extracting',
  unpacked: 'Pull complete',
};

const BAR_WIDTH = 30;

export class PullProgress {
  private readonly layers: LayerLine[] = [];
  /** How many layer lines are on the screen (a terminal redraws them). */
  private drawn = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly output: Writable, private readonly terminal: boolean) {}

  /** Takes one event; the writes are queued in order (see done()). */
  handle(event: ImagePullEvent): void {
    switch (event.type) {
      case 'resolved':
        this.print(`Pulling ${event.name}\n`);
        break;
      case 'manifest':
        this.print(`${event.platform}: ${event.layers} layer${event.layers === 1 ? '' : 's'}, ${humanSize(event.size)}\n`);
        break;
      case 'layer': {
        const previous = this.layers[event.index];
        this.layers[event.index] = { digest: event.digest, state: event.state, bytes: event.bytes, total: event.total };
        if (this.terminal) this.redraw();
        else if (previous?.state !== event.state && event.state !== 'waiting') this.print(`${layerText(this.layers[event.index]!, false)}\n`);
        break;
      }
      case 'done':
        this.print(`Digest: ${event.digest}\n`);
        break;
    }
  }

  /** Resolves once everything handled so far is written. */
  done(): Promise<void> {
    return this.writing;
  }

  private print(text: string): void {
    // Text below the layer lines would be overwritten by the next redraw: it goes above them.
    if (this.terminal && this.drawn > 0) {
      this.write(`\x1b[${this.drawn}A\x1b[J${text}`);
      this.drawn = 0;
      this.redraw();
      return;
    }
    this.write(text);
  }

  private redraw(): void {
    const lines = this.layers.filter(Boolean).map((layer) => `\x1b[2K${layerText(layer, true)}\n`);
    this.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A` : ''}${lines.join('')}`);
    this.drawn = lines.length;
  }

  private write(text: string): void {
    this.writing = this.writing.then(() => writeAll(this.output, text));
  }
}

/** A layer's line; `bar`: with a progress bar (a terminal redraws it), else the state alone (a log line). */
function layerText(layer: LayerLine, bar: boolean): string {
  const name = shortImageId(layer.digest);
  if (layer.state === 'downloading' && !bar) return `${name}: ${STATE_TEXT.downloading} ${humanSize(layer.total)}`;
  if (layer.state !== 'downloading') return `${name}: ${STATE_TEXT[layer.state]}${layer.state === 'downloaded' || layer.state === 'unpacked' ? ` ${humanSize(layer.total)}` : ''}`;
  const fraction = layer.total > 0 ? Math.min(1, layer.bytes / layer.total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const drawn = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(BAR_WIDTH - filled)}]`;
  return `${name}: ${STATE_TEXT.downloading} ${drawn} ${humanSize(layer.bytes)}/${humanSize(layer.total)}`;
}
