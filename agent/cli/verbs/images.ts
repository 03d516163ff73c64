/*
 * `containers-lab images`: the pulled and imported images, as `docker images --digests` lists
 * them (REPOSITORY, TAG, DIGEST, IMAGE ID, CREATED, SIZE), or as JSON (ImageListEntry[]). The
 * built-in busybox is not listed: it is not in the store, it is made from the host's busybox.
 */
import { switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { imageTable } from './image-format';

export const IMAGES_SPEC: VerbSpec = {
  name: 'images',
  summary: 'List pulled and imported images (busybox, the built-in one, is always there).',
  usage: 'images [--json]',
  options: [{ long: 'json', help: 'print ImageListEntry objects as JSON' }],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
};

export async function listImages(json: boolean, context: CliContext): Promise<number> {
  const agent = await context.openAgent();
  try {
    const images = await agent.client.call('image.list', {});
    await writeAll(context.io.stdout, json ? `${JSON.stringify(images, null, 2)}\n` : imageTable(images));
    return 0;
  } finally {
    agent.close();
  }
}

export const imagesVerb: Verb = { spec: IMAGES_SPEC, execute: (args: ParsedArgs, context) => listImages(switchOption(args, 'json'), context) };
