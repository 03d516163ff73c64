/*
 * `USER nginx` → uid, gid and supplementary groups, through the image's own /etc/passwd and
 * /etc/group — what runc's libcontainer/user.GetExecUser does for Docker.
 *
 * The kernel knows only numbers: process.user in config.json is {uid, gid, additionalGids}. A
 * name means whatever the *image's* account files say (the host's passwd is another system's),
 * so the runtime reads them from the image's layers (../image/layer-files.ts) and applies
 * Docker's rules:
 *   - "" is root (0:0);
 *   - "NAME" must be in passwd: its uid, its primary gid, and as supplementary groups every
 *     group in /etc/group that lists NAME as a member;
 *   - "UID" (a number) need not be in passwd; if it is, the gid comes from there, else 0;
 *   - ":GROUP" after either sets the gid (a name must be in /etc/group, a number need not be)
 *     and then no supplementary groups are added;
 *   - HOME for the environment comes from the passwd entry when there is one ("/" otherwise).
 */
import { badInput, quote } from '../errors';

export interface ImageUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The passwd entry's home directory; "/" when the user has none. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The largest id the kernel accepts (uid 4294967295 is "no id", (uid_t)-1). */
const MAX_ID = 2 ** 32 - 2;

/**
 * Resolves `spec` (an image's User, or `run --user`) with the image's files; `files` reads one
 * (null when the image has none). `image` names the image in errors.
 */
export function resolveImageUser(spec: string, files: { passwd: string | null; group: string | null }, image: string): ImageUser {
  const text = spec.trim();
  const colon = text.indexOf(':');
  const userPart = colon === -1 ? text : text.slice(0, colon);
  const groupPart = colon === -1 ? null : text.slice(colon + 1);
  const passwd = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');

  let uid = 0;
  let gid = 0;
  let home = '/';
  let matchedName: string | null = null;
  if (userPart === '') {
    const root = passwd.find((entry) => entry.uid === 0);
    if (root) {
      home = root.home;
      matchedName = root.name;
    }
  } else if (isNumber(userPart)) {
    uid = id(userPart, 'uid', spec);
    const entry = passwd.find((candidate) => candidate.uid === uid);
    if (entry) {
      gid = entry.gid;
      home = entry.home;
    }
  } else {
    const entry = passwd.find((candidate) => candidate.name === userPart);
    if (!entry) {
      const where = files.passwd === null ? 'it has no /etc/passwd' : 'no matching entry in its /etc/passwd';
      throw badInput(`user ${quote(userPart)} is not a user of ${image} (${where}): use a numeric uid, e.g. --user 1000`);
    }
    ({ uid, gid, home } = entry);
    matchedName = entry.name;
  }

  const additionalGids: number[] = [];
  if (groupPart !== null && groupPart !== '') {
    if (isNumber(groupPart)) {
      gid = id(groupPart, 'gid', spec);
    } else {
      const group = groups.find((candidate) => candidate.name === groupPart);
      if (!group) {
        const where = files.group === null ? 'it has no /etc/group' : 'no matching entry in its /etc/group';
        throw badInput(`group ${quote(groupPart)} is not a group of ${image} (${where}): use a numeric gid, e.g. --user 1000:1000`);
      }
      gid = group.gid;
    }
  } else if (matchedName !== null && userPart !== '') {
    // Supplementary groups only in the implicit form, and only for a user named by name (runc's rule).
    for (const group of groups) {
      if (group.members.includes(matchedName) && !additionalGids.includes(group.gid)) additionalGids.push(group.gid);
    }
  }
  return { uid, gid, additionalGids, home: home || '/' };
}

function isNumber(text: string): boolean {
  return /^\d+$/.test(text);
}

function id(text: string, what: string, spec: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > MAX_ID) throw badInput(`invalid user ${quote(spec)}: ${what} ${text} is out of range (0-${MAX_ID})`);
  return value;
}

/** name:password:uid:gid:gecos:home:shell — lines that do not parse are skipped, as libc skips them. */
function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (line.startsWith('#') || fields.length < 4 || !isNumber(fields[2]!) || !isNumber(fields[3]!)) return [];
    return [{ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '/' }];
  });
}

/** name:password:gid:member,member */
function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (line.startsWith('#') || fields.length < 3 || !isNumber(fields[2]!)) return [];
    return [{ name: fields[0]!, gid: Number(fields[2]), members: (fields[3] ?? '').split(',').map((member) => member.trim()).filter(Boolean) }];
  });
}
