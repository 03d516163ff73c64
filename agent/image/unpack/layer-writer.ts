/*
 * Writing a layer's changes into a directory that overlayfs can use as a lower layer.
 *
 * Each tar member becomes the file it describes, with everything that makes it that file: type
 * (regular file, directory, symlink, hard link, character or block device, FIFO), permission
 * bits including setuid, setgid and sticky, owner and group (numeric, as the image means them),
 * extended attributes, and modification time to the nanosecond. Order matters: chown(2) clears
 * setuid bits and file capabilities, so ownership comes first, then the mode, then the
 * attributes; a directory's mtime changes whenever something is created in it, so directories
 * get their times last, after all their content.
 *
 * Every name is resolved by the kernel beneath the layer's own directory descriptor (see
 * agent/kernel/directory-fds.ts): a member whose path — or hard-link target — would leave the
 * layer through ".." or through a symlink an earlier member made is refused, and the final name
 * of each member is never followed, so nothing can be written outside. The layer directory is
 * private to one unpack (see ./index.ts), so nobody else changes it while this runs.
 */
import { readdirSync, writeSync } from 'node:fs';
import { closeFd, openFile } from '../../kernel/files';
import { hasErrno } from '../../kernel/errors';
import {
  AT_REMOVEDIR, O_DIRECTORY, O_EXCL, O_CREAT, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT,
} from '../../kernel/constants';
import {
  chmodAt, lchownAt, linkAt, lsetxattr, lstatAt, lutimesAt, mkdirAt, mknodAt, openAt, openBeneath, pathInFd,
  symlinkAt, syncFilesystem, unlinkAt, type Timespec,
} from '../../kernel/directory-fds';
import { quote } from '../../errors';
import { layerPath, LayerPathError, OPAQUE_XATTR, splitPath, type Change } from './changeset';
import { readable, type TarEntry } from './tar-reader';

const DOT = Buffer.from('.');
/** Attributes overlayfs itself interprets (redirects, metacopy, origin…): a layer may not forge them. */
const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
const WARNING_LIMIT = 10;

/** A byte-string name (see ./tar-header.ts) as the bytes the kernel is given. */
function bytes(byteString: string): Buffer {
  return Buffer.from(byteString, 'latin1');
}

export class LayerWriter {
  private readonly rootFd: number;
  /** Times of directories, set at the end (creating entries in a directory changes its mtime). */
  private readonly directoryTimes = new Map<string, { atime: Timespec; mtime: Timespec }>();
  private rootDescribed = false;
  /** Things the filesystem could not keep (an xattr it does not support), at most WARNING_LIMIT. */
  readonly warnings: string[] = [];
  entries = 0;

  constructor(readonly directory: string) {
    this.rootFd = openFile(directory, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  }

  async apply(change: Change): Promise<void> {
    this.entries += 1;
    switch (change.kind) {
      case 'entry':
        return this.write(change.path, change.entry);
      case 'whiteout':
        return this.whiteout(change.directory, change.name, change.entry);
      case 'opaque':
        return this.opaque(change.directory);
      case 'ignored':
        return;
    }
  }

  /** Sets the directories' times (and the root's mode, if no member described it); optionally syncs. */
  finish(durable: boolean): void {
    if (!this.rootDescribed) chmodAt(this.rootFd, DOT, 0o755);
    for (const [path, times] of this.directoryTimes) {
      this.inParent(path, (parent, name) => {
        const stat = lstatAt(parent, name);
        if (stat && (stat.mode & S_IFMT) === S_IFDIR) lutimesAt(parent, name, times.atime, times.mtime);
      });
    }
    if (!durable) return;
    const readable = openAt(this.rootFd, DOT, O_RDONLY | O_DIRECTORY); // syncfs needs a real descriptor, not O_PATH
    try {
      syncFilesystem(readable);
    } finally {
      closeFd(readable);
    }
  }

  close(): void {
    closeFd(this.rootFd);
  }

  private async write(path: string, entry: TarEntry): Promise<void> {
    if (path === '') return this.describeRoot(entry);
    const { directory, name: nameText } = splitPath(path);
    const name = bytes(nameText);
    const parent = this.openDirectory(directory, entry.path);
    try {
      const existing = lstatAt(parent, name);
      if (existing) {
        const bothDirectories = entry.type === 'directory' && (existing.mode & S_IFMT) === S_IFDIR;
        if (bothDirectories) return this.describe(parent, name, path, entry);
        if (entry.type === 'hardlink' && layerPath(entry.linkname, 'hard link target') === path) return; // a link to itself
        this.remove(parent, name, existing.mode);
        this.forgetDirectoryTimes(path);
      }
      switch (entry.type) {
        case 'file':
          await this.writeContent(parent, name, entry);
          break;
        case 'directory':
          mkdirAt(parent, name, 0o700);
          break;
        case 'symlink':
          symlinkAt(bytes(entry.linkname), parent, name);
          break;
        case 'hardlink':
          return this.hardLink(parent, name, entry);
        case 'char':
          mknodAt(parent, name, S_IFCHR | 0o600, entry.devMajor, entry.devMinor);
          break;
        case 'block':
          mknodAt(parent, name, S_IFBLK | 0o600, entry.devMajor, entry.devMinor);
          break;
        case 'fifo':
          mknodAt(parent, name, S_IFIFO | 0o600);
          break;
      }
      this.describe(parent, name, path, entry);
    } finally {
      closeFd(parent);
    }
  }

  private async writeContent(parent: number, name: Buffer, entry: TarEntry): Promise<void> {
    const fd = openAt(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for await (const piece of entry.body) {
        for (let offset = 0; offset < piece.length;) offset += writeSync(fd, piece, offset, piece.length - offset);
      }
    } finally {
      closeFd(fd);
    }
  }

  /** A hard link names an entry already written in this same layer; it must resolve inside it. */
  private hardLink(parent: number, name: Buffer, entry: TarEntry): void {
    const target = layerPath(entry.linkname, `hard link ${quote(readable(entry.path))} → target`);
    if (target === '') throw new LayerPathError(`hard link ${quote(readable(entry.path))} points at the layer's root`);
    this.inParent(target, (targetParent, targetName) => {
      if (!lstatAt(targetParent, targetName)) {
        throw new LayerPathError(`hard link ${quote(readable(entry.path))} points at ${quote(readable(target))}, which this layer does not have`);
      }
      linkAt(targetParent, targetName, parent, name);
    }, `hard link ${quote(readable(entry.path))} → ${quote(readable(entry.linkname))}`);
  }

  /** `.wh.NAME`: a 0:0 character device NAME, unless this layer has its own NAME (which already hides the lower ones). */
  private whiteout(directory: string, nameText: string, entry: TarEntry): void {
    const parent = this.openDirectory(directory, entry.path);
    const name = bytes(nameText);
    try {
      if (lstatAt(parent, name)) return;
      mknodAt(parent, name, S_IFCHR, 0, 0);
      lchownAt(parent, name, entry.uid, entry.gid);
      lutimesAt(parent, name, entry.atime ?? entry.mtime, entry.mtime);
    } finally {
      closeFd(parent);
    }
  }

  /** `.wh..wh..opq`: the directory (made if need be) hides everything the layers below have in it. */
  private opaque(directory: string): void {
    const fd = this.openDirectory(directory, directory === '' ? '.wh..wh..opq' : `${directory}/.wh..wh..opq`);
    try {
      lsetxattr(pathInFd(fd, DOT), OPAQUE_XATTR, Buffer.from('y'));
    } finally {
      closeFd(fd);
    }
  }

  private describeRoot(entry: TarEntry): void {
    if (entry.type !== 'directory') {
      throw new LayerPathError(`tar entry ${quote(readable(entry.path))} would replace the layer's root with a ${entry.type}`);
    }
    this.rootDescribed = true;
    this.describe(this.rootFd, DOT, '', entry);
  }

  /** Owner, then mode (chown clears setuid), then xattrs, then times: see the file's opening comment. */
  private describe(parent: number, name: Buffer, path: string, entry: TarEntry): void {
    lchownAt(parent, name, entry.uid, entry.gid);
    if (entry.type !== 'symlink') chmodAt(parent, name, entry.mode);
    for (const [attribute, value] of entry.xattrs) {
      if (attribute.startsWith(OVERLAY_XATTR_PREFIX)) {
        this.warn(`${quote(readable(entry.path))}: ${attribute} dropped (overlayfs's own attributes come only from whiteouts)`);
        continue;
      }
      try {
        lsetxattr(pathInFd(parent, name), attribute, value);
      } catch (error) {
        if (hasErrno(error, 'ENOTSUP') || hasErrno(error, 'EOPNOTSUPP')) {
          this.warn(`${quote(readable(entry.path))}: ${attribute} dropped (this filesystem does not support it)`);
        } else if (hasErrno(error, 'EPERM') && entry.type === 'symlink' && attribute.startsWith('user.')) {
          this.warn(`${quote(readable(entry.path))}: ${attribute} dropped (Linux allows no user.* attributes on symlinks)`);
        } else {
          throw error;
        }
      }
    }
    const atime = entry.atime ?? entry.mtime;
    if (entry.type === 'directory') this.directoryTimes.set(path, { atime, mtime: entry.mtime });
    else lutimesAt(parent, name, atime, entry.mtime);
  }

  /** A directory replaced by another member takes its (and its children's) pending times with it. */
  private forgetDirectoryTimes(path: string): void {
    for (const recorded of this.directoryTimes.keys()) {
      if (recorded === path || recorded.startsWith(`${path}/`)) this.directoryTimes.delete(recorded);
    }
  }

  private remove(parent: number, name: Buffer, mode: number): void {
    if ((mode & S_IFMT) !== S_IFDIR) return unlinkAt(parent, name);
    const fd = openAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      for (const child of readdirSync(pathInFd(fd, DOT), { encoding: 'buffer' })) {
        const stat = lstatAt(fd, child);
        if (stat) this.remove(fd, child, stat.mode);
      }
    } finally {
      closeFd(fd);
    }
    unlinkAt(parent, name, AT_REMOVEDIR);
  }

  /**
   * An O_PATH descriptor of the layer directory `path` ('' is the root), resolved beneath the
   * root; missing directories are made (0755, root-owned) as tar's parents-before-children order
   * is customary, not guaranteed. `member` names the tar member in errors.
   */
  private openDirectory(path: string, member: string): number {
    const subject = `tar entry ${quote(readable(member))}`;
    try {
      return openBeneath(this.rootFd, path === '' ? DOT : bytes(path), O_PATH | O_DIRECTORY);
    } catch (error) {
      if (!hasErrno(error, 'ENOENT')) throw resolutionError(error, subject);
    }
    let fd = openBeneath(this.rootFd, DOT, O_PATH | O_DIRECTORY);
    let prefix = '';
    try {
      for (const part of path.split('/')) {
        prefix = prefix === '' ? part : `${prefix}/${part}`;
        let next: number;
        try {
          next = openBeneath(this.rootFd, bytes(prefix), O_PATH | O_DIRECTORY);
        } catch (error) {
          if (!hasErrno(error, 'ENOENT')) throw error;
          mkdirAt(fd, bytes(part), 0o755);
          next = openBeneath(this.rootFd, bytes(prefix), O_PATH | O_DIRECTORY);
        }
        closeFd(fd);
        fd = next;
      }
      return fd;
    } catch (error) {
      closeFd(fd);
      throw resolutionError(error, subject);
    }
  }

  /** Runs `action` with the parent directory of an existing layer path and its final name; `subject` names it in errors. */
  private inParent(path: string, action: (parent: number, name: Buffer) => void, subject = quote(readable(path))): void {
    const { directory, name } = splitPath(path);
    let parent: number;
    try {
      parent = openBeneath(this.rootFd, directory === '' ? DOT : bytes(directory), O_PATH | O_DIRECTORY);
    } catch (error) {
      if (hasErrno(error, 'ENOENT')) throw new LayerPathError(`${subject}: ${quote(readable(directory))} is not in this layer`);
      throw resolutionError(error, subject);
    }
    try {
      action(parent, name === '' ? DOT : bytes(name));
    } finally {
      closeFd(parent);
    }
  }

  private warn(message: string): void {
    if (this.warnings.length < WARNING_LIMIT) this.warnings.push(message);
  }
}

/** The kernel's refusal to walk a path, said in the layer's terms. */
function resolutionError(error: unknown, subject: string): unknown {
  if (hasErrno(error, 'EXDEV')) return new LayerPathError(`${subject} goes through a symlink that leads outside the layer directory`);
  if (hasErrno(error, 'ELOOP')) return new LayerPathError(`${subject} goes through too many symlinks (a loop, or a /proc magic link)`);
  if (hasErrno(error, 'ENOTDIR')) return new LayerPathError(`${subject}: one of its parents is not a directory`);
  return error;
}
