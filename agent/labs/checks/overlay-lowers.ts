/*
 * Check "overlay-lowers": what a container's root really stands on, from the kernel's mountinfo
 * (/proc/PID/mountinfo, the overlay mounted at its "/"): lowerdir — the read-only layers, top
 * first — and upperdir. With `image`, the lowers must be that image's layer directories (as
 * `image inspect` lists them, reversed; a user-namespaced container's shifted copies count as
 * their layers). With `sameLowersAs`, both containers must name the very same lower directories
 * and each an upper of its own: one image on disk, shared, and copy-on-write per container.
 */
import { readMountinfoEntries } from '../../inspect/mountinfo';
import { baseLayerOf } from '../../runtime/shifted-layers';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf, running } from './outcome';

interface RootOverlay {
  lower: string[];
  upper: string;
}

function rootOverlay(context: LabContext, name: string): RootOverlay {
  const pid = running(context, name).pid;
  const overlay = readMountinfoEntries(pid).find((entry) => entry.target === '/' && entry.fstype === 'overlay');
  if (!overlay) throw new CheckFailed(`the root of "${name}" is not an overlay mount`);
  const option = (key: string): string | null => new RegExp(`(?:^|,)${key}=([^,]+)`).exec(overlay.superOptions)?.[1] ?? null;
  return { lower: (option('lowerdir') ?? '').split(':').filter(Boolean), upper: option('upperdir') ?? '' };
}

export function checkOverlayLowers(params: CheckParamsByKind['overlay-lowers'], context: LabContext): void {
  const mine = rootOverlay(context, params.container);
  if (params.image !== undefined) {
    let expected: string[];
    try {
      expected = context.runtime.images.inspect(params.image).layers.map((layer) => layer.directory).reverse();
    } catch (error) {
      throw new CheckFailed(error instanceof Error ? error.message : String(error));
    }
    const layers = mine.lower.map(baseLayerOf);
    failIf(layers.length !== expected.length || layers.some((layer, index) => layer !== expected[index]),
      `"${params.container}" stands on ${mine.lower.length} lower director${mine.lower.length === 1 ? 'y' : 'ies'}, not the ${expected.length} layers of ${params.image}`);
  }
  if (params.sameLowersAs !== undefined) {
    const other = rootOverlay(context, params.sameLowersAs);
    failIf(mine.lower.join(':') !== other.lower.join(':'), `"${params.container}" and "${params.sameLowersAs}" stand on different lower directories`);
    failIf(mine.upper === other.upper, `"${params.container}" and "${params.sameLowersAs}" share one upper directory`);
  }
}
