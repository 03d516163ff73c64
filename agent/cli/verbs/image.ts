/*
 * `containers-lab image`: Docker's management command for images.
 *
 *   image inspect [--json] REF     the config and the layers (digest, size, created-by)
 *   image ls [--json]              = images
 *   image rm REF…                  = rmi
 *   image prune [--json]           delete the blobs and layers nothing uses
 *
 * "Nothing uses" means no image name, no pull under way and no container: a container's layers
 * stay until the container is removed, even after `rmi` of its image.
 */
import { UsageError, switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { imageDetailsText, pruneText } from './image-format';
import { listImages } from './images';
import { removeImages } from './rmi';

const SUBCOMMANDS = ['inspect', 'ls', 'rm', 'prune'] as const;

const spec: VerbSpec = {
  name: 'image',
  summary: 'Manage images: inspect, ls, rm, prune.',
  usage: 'image inspect|ls|rm|prune [--json] [REF…]',
  options: [{ long: 'json', help: 'print the protocol objects as JSON (inspect, ls, prune)' }],
  positionals: { name: 'SUBCOMMAND', min: 1, max: Infinity },
  command: 'none',
  details: [
    'Examples:',
    '  containers-lab image inspect alpine:3.20',
    '  containers-lab image prune',
  ],
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const [subcommand, ...references] = args.positionals as [string, ...string[]];
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand)) {
    throw new UsageError(`image: unknown subcommand "${subcommand}" (one of: ${SUBCOMMANDS.join(', ')})`);
  }
  const json = switchOption(args, 'json');
  const expect = (count: 'none' | 'one' | 'some'): void => {
    if (count === 'none' && references.length > 0) throw new UsageError(`image ${subcommand}: unexpected argument "${references[0]}"`);
    if (count === 'one' && references.length !== 1) throw new UsageError(`image ${subcommand}: give one image reference (usage: containers-lab image ${subcommand} REF)`);
    if (count === 'some' && references.length === 0) throw new UsageError(`image ${subcommand}: missing REF`);
  };
  switch (subcommand) {
    case 'ls':
      expect('none');
      return listImages(json, context);
    case 'rm':
      expect('some');
      if (json) throw new UsageError('image rm: --json goes with inspect, ls and prune');
      return removeImages(references, context);
    case 'inspect':
    case 'prune': {
      expect(subcommand === 'inspect' ? 'one' : 'none');
      const agent = await context.openAgent();
      try {
        let text: string;
        if (subcommand === 'inspect') {
          const details = await agent.client.call('image.inspect', { reference: references[0]! });
          text = json ? `${JSON.stringify(details, null, 2)}\n` : imageDetailsText(details);
        } else {
          const result = await agent.client.call('image.prune', {});
          text = json ? `${JSON.stringify(result, null, 2)}\n` : pruneText(result);
        }
        await writeAll(context.io.stdout, text);
        return 0;
      } finally {
        agent.close();
      }
    }
  }
  return 2;
}

export const imageVerb: Verb = { spec, execute };
