/*
 * Check "file-layer": which overlay layer a path of the container comes from — written by the
 * container (upper), still the image's (lower), hidden by a whiteout (deleted) — read straight off
 * the overlay's directories (agent/inspect/overlay-layer.ts). Copy-on-write made visible: a file
 * of the image that the container changed is in upper *and* lower ("copied up").
 */
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, failIf } from './outcome';

export function checkFileLayer(params: CheckParamsByKind['file-layer'], context: LabContext): void {
  existing(context, params.container);
  let layer;
  try {
    layer = context.runtime.pathLayer(params.container, params.path);
  } catch (error) {
    throw new CheckFailed(error instanceof Error ? error.message : String(error));
  }
  failIf(layer.layer !== params.layer, `${params.path} is ${layer.layer === 'absent' ? 'in no layer' : `in layer "${layer.layer}"`}`);
  if (params.copiedUp !== undefined) failIf(layer.copiedUp !== params.copiedUp, `${params.path} ${layer.copiedUp ? 'was copied up from the image' : 'is not a copy of an image file'}`);
}
