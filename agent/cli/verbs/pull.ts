/*
 * `containers-lab pull REF`: fetch an image from its registry into the agent's store and unpack
 * its layers, showing each layer's progress (./pull-progress.ts). The reference is read as Docker
 * reads it — `alpine` is docker.io/library/alpine:latest — and the registry is asked over HTTPS,
 * or plain HTTP for a loopback address or a host given with --insecure-registry. The last line
 * printed is the image's canonical name, as `docker pull` ends.
 */
import { listOption, stringOption, switchOption } from '../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../command-line/args';
import type { ImagePullParams } from '../../protocol';
import type { CliContext, Verb } from '../context';
import { writeAll } from '../context';
import { PullProgress } from './pull-progress';

const spec: VerbSpec = {
  name: 'pull',
  summary: 'Pull an image from a registry (Docker Hub or any OCI registry) and unpack its layers.',
  usage: 'pull [--insecure-registry HOST] [--platform linux/ARCH] [-q] REF',
  options: [
    { long: 'insecure-registry', value: 'HOST[:PORT]', repeatable: true, help: 'reach this registry over plain HTTP (loopback registries always may)' },
    { long: 'platform', value: 'OS/ARCH', help: "the platform to take from a multi-platform image (default: this machine's), e.g. linux/arm64" },
    { long: 'quiet', short: 'q', help: 'print only the image name' },
    { long: 'json', help: 'print the ImagePullResult as JSON (no progress)' },
  ],
  positionals: { name: 'REF', min: 1, max: 1 },
  command: 'none',
  details: [
    'Examples:',
    '  containers-lab pull alpine:3.20',
    '  containers-lab pull --insecure-registry 192.168.121.1:5000 192.168.121.1:5000/team/app:1',
    '  containers-lab pull 127.0.0.1:5000/lab/app@sha256:…   (a digest pins the exact content)',
    'Credentials come from ~/.docker/config.json (docker login / skopeo login write it).',
  ],
};

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const reference = args.positionals[0]!;
  const params: ImagePullParams = { reference };
  const insecure = listOption(args, 'insecure-registry');
  if (insecure.length) params.insecureRegistries = insecure;
  const platform = stringOption(args, 'platform');
  if (platform !== undefined) params.platform = platform;
  const json = switchOption(args, 'json');
  const quiet = switchOption(args, 'quiet') || json;
  const stdout = context.io.stdout;
  const progress = new PullProgress(stdout, (stdout as { isTTY?: boolean }).isTTY === true);
  const agent = await context.openAgent();
  const off = quiet ? () => {} : agent.client.on('image.progress', (event) => {
    if (event.reference === reference) progress.handle(event.event);
  });
  try {
    const result = await agent.client.call('image.pull', params);
    await progress.done();
    if (json) await writeAll(stdout, `${JSON.stringify(result, null, 2)}\n`);
    else await writeAll(stdout, `${result.image.name}\n`);
    return 0;
  } finally {
    off();
    await progress.done().catch(() => undefined);
    agent.close();
  }
}

export const pullVerb: Verb = { spec, execute };
