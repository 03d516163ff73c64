/*
 * Images a container can really run, built by the tests from scratch (./oci-layout.ts: GNU tar,
 * gzip, our own digests) around the host's static busybox, and pushed to a test registry with
 * skopeo. Every detail a run test asserts is in here:
 *   - "app" (3 layers): base (busybox and its tools, account files reached through symlinks — a
 *     relative one for /etc/passwd and an absolute one for /etc/group, both meaning paths inside
 *     the image), changes (a whiteout for /etc/motd, an opaque /opt/app with a new file), tools
 *     (one more file); Entrypoint echo + Cmd, Env, WorkingDir /opt/app, User app by name (uid
 *     1234, gid 2345, supplementary group 3456), Labels (one trying an agent key), ExposedPorts;
 *   - "other": the same base layer and one of its own (a second image sharing a layer);
 *   - "tall": the base and 44 one-file layers — more absolute lowerdir paths than fit in a page.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findStaticBusybox } from '../../agent/runtime/image/busybox';
import { OciLayout, makeTree } from './oci-layout';
import type { Image, Layer } from './oci-layout';

export const APP_USER = { uid: 1234, gid: 2345, groups: [3456] };
export const TALL_LAYERS = 45;

export const APP_CONFIG = {
  Entrypoint: ['/bin/echo', 'from-entrypoint'],
  Cmd: ['default-arg'],
  Env: ['PATH=/bin', 'MODE=lab'],
  WorkingDir: '/opt/app',
  User: 'app',
  Labels: { 'org.example.team': 'lab', 'lab.containers.privileged': 'true' },
  ExposedPorts: { '80/tcp': {}, '53/udp': {} },
};

export const APP_CREATED_BY = ['ADD base.tar /', 'RUN rm /etc/motd && rm -rf /opt/app/* && echo new > /opt/app/new.txt', 'COPY tool /usr/local/bin/'];

export interface RunnableImages {
  layout: OciLayout;
  app: Image;
  other: Image;
  /** The base and 44 thin layers; just the base when built without. */
  tall: Image;
  base: Layer;
}

const TOOLS = ['sh', 'echo', 'sleep', 'id', 'cat', 'pwd', 'ls', 'wc', 'env', 'true'];

/** `tall`: build the 45-layer image too (a few seconds of tar and gzip). */
export function buildRunnableImages(scratch: string, options: { tall?: boolean } = {}): RunnableImages {
  const layout = new OciLayout(join(scratch, 'layout'));
  const tree = (name: string): string => join(scratch, 'trees', name);
  const tools = Object.fromEntries(TOOLS.map((tool) => [`bin/${tool}`, { symlink: 'busybox' }]));
  makeTree(tree('base'), {
    ...tools,
    'etc/passwd': { symlink: '../usr/share/accounts/passwd' },
    'etc/group': { symlink: '/usr/share/accounts/group' },
    'usr/share/accounts/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n',
    'usr/share/accounts/group': 'root:x:0:\napp:x:2345:\nextra:x:3456:app\n',
    'etc/motd': 'welcome\n',
    'opt/app/old.txt': 'old\n',
    'home/app': { directory: true },
  });
  mkdirSync(join(tree('base'), 'bin'), { recursive: true });
  copyFileSync(findStaticBusybox(), join(tree('base'), 'bin', 'busybox'));
  makeTree(tree('changes'), { 'etc/.wh.motd': '', 'opt/app/.wh..wh..opq': '', 'opt/app/new.txt': 'new\n' });
  makeTree(tree('tool'), { 'usr/local/bin/tool': { text: '#!/bin/sh\necho tool\n', mode: 0o755 } });
  makeTree(tree('other'), { 'srv/other.txt': 'other\n' });

  const base = layout.addLayer(tree('base'));
  const changes = layout.addLayer(tree('changes'));
  const tool = layout.addLayer(tree('tool'));
  const app = layout.addImage({ layers: [base, changes, tool], runConfig: APP_CONFIG, createdBy: APP_CREATED_BY, architecture: goArch() });
  layout.tag(app.manifest, 'app');
  const other = layout.addImage({ layers: [base, layout.addLayer(tree('other'))], runConfig: { Cmd: ['/bin/sh'] }, architecture: goArch() });
  layout.tag(other.manifest, 'other');
  const thin: Layer[] = [];
  for (let index = 1; index < (options.tall === false ? 0 : TALL_LAYERS); index += 1) {
    makeTree(tree(`thin-${index}`), { [`layers/${index}`]: `${index}\n` });
    thin.push(layout.addLayer(tree(`thin-${index}`)));
  }
  const tall = layout.addImage({ layers: [base, ...thin], runConfig: { Cmd: ['/bin/sh', '-c', 'ls /layers | wc -l'] }, architecture: goArch() });
  layout.tag(tall.manifest, 'tall');
  return { layout, app, other, tall, base };
}

/** This machine's architecture as images name it. */
export function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/**
 * skopeo copy oci:DIR:TAG docker://DESTINATION, without blocking this process: the test registry's
 * access log is read by this process, and a push of many layers fills the pipe (execFileSync would
 * then wait for skopeo, skopeo for the registry, the registry for the pipe).
 */
export async function pushImage(layoutDir: string, tag: string, destination: string): Promise<void> {
  await promisify(execFile)('skopeo', ['copy', '--quiet', '--all', '--dest-tls-verify=false', '--preserve-digests', `oci:${layoutDir}:${tag}`, `docker://${destination}`], { timeout: 120_000 });
}
