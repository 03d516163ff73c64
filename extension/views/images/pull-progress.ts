/*
 * A pull's progress as one notification can show it, from the agent's image.progress events:
 * per layer, bytes so far of its total; overall, the share of all layers' bytes done. VS Code's
 * progress takes increments, so `update` returns how much the bar moved since the last report.
 * No 'vscode' here: the arithmetic is unit-tested.
 */
import type { ImageLayerState, ImagePullEvent } from '../../../agent/protocol';
import { formatBytes } from '../containers/model';
import { shortDigest } from './model';

interface LayerProgress {
  digest: string;
  state: ImageLayerState;
  bytes: number;
  total: number;
}

export interface ProgressReport {
  /** One line: the layers being fetched with their bytes, or the step the pull is at. */
  message: string;
  /** Percentage points gained since the previous report (0–100 over the whole pull). */
  increment: number;
}

const DONE_STATES: readonly ImageLayerState[] = ['downloaded', 'present', 'unpacking', 'unpacked'];

export class PullProgress {
  private readonly layers = new Map<number, LayerProgress>();
  private reported = 0;
  private step = 'resolving';

  update(event: ImagePullEvent): ProgressReport {
    switch (event.type) {
      case 'resolved':
        this.step = `resolved ${shortDigest(event.digest)}`;
        break;
      case 'manifest':
        this.step = `${event.layers} layer${event.layers === 1 ? '' : 's'}, ${formatBytes(event.size)} (${event.platform})`;
        break;
      case 'layer':
        this.layers.set(event.index, { digest: event.digest, state: event.state, bytes: event.bytes, total: event.total });
        break;
      case 'done':
        this.step = 'done';
        break;
    }
    const percent = event.type === 'done' ? 100 : this.percent();
    const increment = Math.max(0, percent - this.reported);
    this.reported = Math.max(this.reported, percent);
    return { message: this.message(), increment };
  }

  /** 0–100: bytes of every layer (a present or downloaded one counts whole), unpacking as the last tenth. */
  percent(): number {
    const all = [...this.layers.values()];
    const total = all.reduce((sum, layer) => sum + layer.total, 0);
    if (all.length === 0 || total === 0) return 0;
    const bytes = all.reduce((sum, layer) => sum + (DONE_STATES.includes(layer.state) ? layer.total : Math.min(layer.bytes, layer.total)), 0);
    const unpacked = all.filter((layer) => layer.state === 'unpacked').length / all.length;
    return Math.floor(90 * (bytes / total) + 10 * unpacked);
  }

  message(): string {
    const entries = [...this.layers.entries()].sort(([a], [b]) => a - b);
    if (entries.length === 0) return this.step;
    const finished = entries.filter(([, layer]) => layer.state === 'unpacked').length;
    const busy = entries
      .filter(([, layer]) => layer.state === 'downloading' || layer.state === 'unpacking')
      .map(([index, layer]) => layer.state === 'downloading'
        ? `layer ${index + 1}: ${formatBytes(layer.bytes)} / ${formatBytes(layer.total)}`
        : `layer ${index + 1}: unpacking`);
    const head = `${finished}/${entries.length} layers ready`;
    return busy.length > 0 ? `${head} · ${busy.join(' · ')}` : head;
  }
}
