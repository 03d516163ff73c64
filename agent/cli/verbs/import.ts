/*
 * `containers-lab import FILE [NAME]`: images from a file instead of a registry — a `docker save`
 * archive (plain or gzip'd) or an OCI image layout, as a directory or a tar (skopeo's
 * oci-archive:). FILE is read where the agent runs. NAME names an image the file leaves unnamed
 * (or gives the repository when the file names only a tag). Prints each imported name.
 */
import { resolve } from 'node:path';
import { switchOption } from '../../command-line/args';
import type { ParsedArgs } from '../../command-line/args';
import { IMPORT_SPEC } from '../../command-line/verbs';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';

const spec = IMPORT_SPEC;

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const [file, name] = args.positionals as [string, string | undefined];
  const agent = await context.openAgent();
  try {
    // Relative to where the command was typed: the agent's own working directory is another.
    const { images } = await agent.client.call('image.import', { path: resolve(file), ...(name !== undefined ? { name } : {}) });
    const text = switchOption(args, 'json') ? `${JSON.stringify(images, null, 2)}\n` : images.map((image) => `Loaded image: ${image.name}\n`).join('');
    await writeAll(context.io.stdout, text);
    return 0;
  } finally {
    agent.close();
  }
}

export const importVerb: Verb = { spec, execute };
