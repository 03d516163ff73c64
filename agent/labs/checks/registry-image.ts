/*
 * Check "registry-image": the container runs the image the lab's registry serves, not one that
 * merely carries its name. A node may have an image under any name (`image import` can tag
 * anything so); what came from a registry keeps the registry's manifest digest, which the
 * container record keeps from its start (imageRef). So: the container's image resolved to the
 * digest the registry answers for that reference now (asked with the lab's credentials), and the
 * kernel's overlay at its root stands on that image's layers.
 */
import { parseReference, formatReference } from '../../image/reference';
import { servedDigest } from '../daemons/registry';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { checkOverlayLowers } from './overlay-lowers';
import { CheckFailed, failIf, running } from './outcome';

export async function checkRegistryImage(params: CheckParamsByKind['registry-image'], context: LabContext): Promise<void> {
  const record = running(context, params.container);
  const wanted = parseReference(params.image);
  const registry = (context.lab.setup ?? []).flatMap((action) => ('registry' in action ? [action.registry] : [])).find((spec) => spec.address === wanted.registry);
  if (!registry) throw new CheckFailed(`the lab has no registry at ${wanted.registry}`);
  const image = record.imageRef;
  if (!image) throw new CheckFailed(`"${params.container}" runs the built-in busybox`);
  failIf(formatReference(parseReference(image.name)) !== formatReference(wanted), `"${params.container}" runs ${image.name}`);
  let served: string;
  try {
    served = await servedDigest(registry, params.image);
  } catch (error) {
    throw new CheckFailed((error as Error).message);
  }
  failIf(image.digest !== served, `"${params.container}" runs ${image.name} at ${image.digest.slice(0, 19)}…, the registry serves ${served.slice(0, 19)}…`);
  checkOverlayLowers({ container: params.container, image: image.name }, context);
}
