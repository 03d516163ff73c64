/*
 * Check "opaque-dir": a directory of the container's upper layer marked opaque — the xattr
 * trusted.overlay.opaque = "y" that overlayfs sets when a directory the image has is removed and
 * made again (`rm -rf /opt/data && mkdir /opt/data`): nothing the lower layers hold under it shows
 * through any more. Read straight off the upper directory on disk, as the kernel wrote it.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr } from '../../kernel/directory-fds';
import { OPAQUE_XATTR } from '../../image/unpack/changeset';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, failIf } from './outcome';

export function checkOpaqueDir(params: CheckParamsByKind['opaque-dir'], context: LabContext): void {
  const rootfs = existing(context, params.container).rootfs;
  if (!rootfs) throw new CheckFailed(`"${params.container}" has no overlay root`);
  const inUpper = join(rootfs.upper, params.path);
  let isDirectory = false;
  try {
    isDirectory = lstatSync(inUpper).isDirectory();
  } catch {
    // not in upper
  }
  const opaque = isDirectory && lgetxattr(inUpper, OPAQUE_XATTR)?.toString('utf8') === 'y';
  const wanted = params.opaque ?? true;
  failIf(opaque !== wanted, `${params.path} ${opaque ? 'is' : isDirectory ? 'is in the upper layer but not' : 'is not a directory of the upper layer, so not'} an opaque directory`);
}
