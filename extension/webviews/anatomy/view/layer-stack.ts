/*
 * The overlay as a stack, top first: the container's upper directory on top, then every image
 * layer from the top one down to the base — the order overlayfs looks a path up in. Each image
 * layer shows its number (1 is the base, as the Images view counts), digest and the build step
 * that made it. The answer to "which layer does this path come from?" is marked on the stack.
 */
import type { ContainerLayers, PathLayer, PathLayerImageLayer } from '../../../../agent/protocol';
import { h } from '../../shared/view/vscode-api';

function layerTitle(layer: PathLayerImageLayer): string {
  return `layer ${layer.number}${layer.digest ? ` · ${layer.digest.slice(7, 19)}` : ''}`;
}

/** One line naming the layer a path's answer points at: its build step too. */
export function answerLayerText(result: PathLayer): string | null {
  if (result.layer === 'lower' && result.imageLayer) return `from image ${layerTitle(result.imageLayer)}${result.imageLayer.createdBy ? ` (${result.imageLayer.createdBy})` : ''}`;
  if (result.layer === 'deleted' && result.deletedBy) {
    const where = result.deletedBy.layer === 'upper' ? 'upper' : layerTitle(result.deletedBy.layer);
    return `hidden by ${result.deletedBy.kind === 'whiteout' ? 'a whiteout' : 'an opaque directory'} at ${result.deletedBy.path} in ${where}`;
  }
  return null;
}

/** The stack's element; `draw` replaces its rows, `mark` highlights the layer of an answer. */
export function layerStack(): { element: HTMLElement; draw(layers: ContainerLayers): void; mark(result: PathLayer | null): void } {
  const list = h('ol', { class: 'layer-stack', 'aria-label': 'Overlay layers, top first' });
  const element = h('div', { class: 'layer-stack-box' }, h('h3', {}, 'Layers, top first (where the kernel looks first)'), list);
  return {
    element,
    draw(layers) {
      list.replaceChildren(
        ...layers.layers.map((layer) => {
          const key = layer.kind === 'upper' ? 'upper' : `lower-${layer.imageLayer?.lowerIndex ?? 0}`;
          const title = layer.kind === 'upper' ? 'upper (this container\'s writes)' : layer.imageLayer ? layerTitle(layer.imageLayer) : 'image layer';
          const step = layer.kind === 'upper' ? 'writable' : layer.imageLayer?.createdBy ?? 'read-only';
          return h('li', { 'data-layer': key, tabindex: '0' }, h('strong', {}, title), ' ', h('span', { class: 'muted' }, step), h('div', { class: 'mono muted' }, layer.directory));
        }),
      );
    },
    mark(result) {
      const wanted = result?.layer === 'upper' ? 'upper' : result?.layer === 'lower' ? `lower-${result.lowerIndex ?? 0}` : null;
      for (const item of Array.from(list.children) as HTMLElement[]) item.classList.toggle('answer', item.dataset.layer === wanted);
    },
  };
}
