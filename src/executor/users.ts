import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The user's home from /etc/passwd, for $HOME. */
  home: string;
}

/**
 * Resolves a USER / `--chown` spec (`name`, `uid`, `name:group`, `uid:gid`)
 * against the rootfs's own `/etc/passwd` and `/etc/group`, as Docker does: a
 * numeric id needs no entry; a name must have one; without a group the user's
 * primary group is used, plus the supplementary groups listing the user.
 */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parseColonFile(await readEtc(rootfs, 'passwd'));
  const groups = parseColonFile(await readEtc(rootfs, 'group'));
  const entry = passwd.find((f) => f[0] === userPart) ?? (isId(userPart) ? passwd.find((f) => f[2] === userPart) : undefined);
  let uid: number;
  if (isId(userPart)) uid = Number(userPart);
  else if (entry) uid = Number(entry[2]);
  else throw new UserError(`unable to find user ${userPart}: no matching entries in passwd file`);
  const name = entry?.[0];
  let gid: number;
  // a uid with no passwd entry runs with gid 0, as Docker does
  if (groupPart === undefined || groupPart === '') gid = entry ? Number(entry[3]) : 0;
  else if (isId(groupPart)) gid = Number(groupPart);
  else {
    const g = groups.find((f) => f[0] === groupPart);
    if (!g) throw new UserError(`unable to find group ${groupPart}: no matching entries in group file`);
    gid = Number(g[2]);
  }
  const additionalGids =
    groupPart === undefined && name !== undefined
      ? groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])).filter((g) => g !== gid)
      : [];
  return { uid, gid, additionalGids, home: entry?.[5] || '/' };
}

function isId(s: string): boolean {
  return /^\d+$/.test(s);
}

function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Reads an /etc file of the rootfs; a missing file, or a symlink that could lead outside, reads as empty. */
async function readEtc(rootfs: string, name: string): Promise<string> {
  const path = join(rootfs, 'etc', name);
  try {
    if ((await lstat(path)).isSymbolicLink()) return '';
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}
