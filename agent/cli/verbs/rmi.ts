/*
 * `containers-lab rmi REF…`: remove image names. A name goes at once; an image ID removes every
 * name of that image. The layers stay while any container stands on them, and on disk until
 * `image prune` finds them unused — so removing the image of a running container is safe.
 */
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { forEachName } from './each';

export const RMI_SPEC: VerbSpec = {
  name: 'rmi',
  summary: 'Remove images by name or ID (their layers go with image prune, once unused).',
  usage: 'rmi REF…',
  options: [],
  positionals: { name: 'REF', min: 1, max: Infinity },
  command: 'none',
};

/** Removes each reference; prints `Untagged: NAME` per name removed, a one-line error per failure. */
export function removeImages(references: string[], context: CliContext): Promise<number> {
  return forEachName(references, context, async (client, reference) => {
    const { removed } = await client.call('image.remove', { reference });
    return removed.map((name) => `Untagged: ${name}\n`).join('');
  });
}

export const rmiVerb: Verb = { spec: RMI_SPEC, execute: (args: ParsedArgs, context) => removeImages(args.positionals, context) };
