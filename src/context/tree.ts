/**
 * The build context as COPY sees it: a directory tree filtered by the ignore
 * file, with BuildKit's walk semantics (tonistiigi/fsutil's filtered walk,
 * which decides what the context BuildKit receives contains):
 *
 * - each path is matched against the patterns incrementally, with its
 *   directory's results (patternmatcher's MatchesUsingParentResults);
 * - an excluded directory is not entered when no exception pattern could
 *   re-include anything inside it (when every exception is a plain path,
 *   optionally ending in `/*` or `/**`, it must start with `<dir>/`; when some
 *   exception has wildcards, excluded directories are always entered);
 * - an excluded directory that is entered is in the context only as the
 *   parent of entries re-included below it;
 * - symlinks are never followed: a link is an entry of its own;
 * - unreadable parts of excluded directories are skipped; anything else
 *   unreadable is an error naming the path.
 *
 * The walk uses synchronous file system calls: they are several times
 * cheaper than promises per entry, and a context walk is a short, bounded
 * burst at planning time. It lstats every path it keeps (plain stats: see
 * stat-cache.ts on their precision), but lists a directory only when its
 * stamp differs from the one a listing was remembered under, and takes a
 * regular file's stamp from the stat cache when it has it (stat-cache.ts).
 */
import { constants, lstatSync, readdirSync, readlinkSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import { UserError } from '../errors.ts';
import { badPattern, type IgnoreRules } from './ignore-file.ts';
import { BadPatternError, type MatchInfo, type Pattern } from './pattern-matcher.ts';
import { msOf, stampKey, stampKeyOf, type DirListing, type StatCache } from './stat-cache.ts';

/** What an entry is. A socket is sent by BuildKit as an empty regular file, and tsbuild does the same. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

/** One path in the context, with what the digest and the stat cache need. */
export interface ContextEntry {
  /** Relative to the context root, `/`-separated; `.` is the root. */
  rel: string;
  kind: EntryKind;
  /** Permission bits: `mode & 0o7777`. */
  perm: number;
  size: number;
  /** What the stat cache knows a file's content by: device, inode, size, mtime and ctime (see stampKey; device and inode are its first 16 characters). */
  stamp: string;
  /** When it last changed: the later of mtime and ctime, in ms since 1970. */
  changedMs: number;
  /** How many names the file has (st_nlink): more than one for hard links. */
  links: number;
  /** Device number of a char/block device. */
  rdev?: bigint;
  /** A symlink's target, as stored. */
  target?: string;
  /** A regular file's content sha256 (hex), once a digest has needed it. */
  sha256?: string;
}

/** Where a path stands with respect to the ignore file. */
export type PathStatus =
  /** Not excluded; `decidedBy` is the exception that re-included it, if a pattern hit at all. */
  | { state: 'included'; decidedBy?: Pattern }
  /** Excluded by `decidedBy`. An excluded directory that `entered` can still hold re-included entries. */
  | { state: 'excluded'; decidedBy: Pattern; entered: boolean }
  /** Inside `dir`, an excluded directory the walk never enters. */
  | { state: 'hidden'; dir: string; decidedBy: Pattern };

interface DirState {
  status: PathStatus;
  /** Passed to the directory's children (undefined at the root, and without ignore rules). */
  info: MatchInfo | undefined;
}

const UNKNOWN_ERRNO = 'EUNKNOWN';
/** What a walk's visitor returns to end the walk. */
const STOP = Symbol('stop');
const DIR = 'd'.charCodeAt(0);
const NO_NAMES: DirListing = { names: [], types: '' };
const NO_THROW = { throwIfNoEntry: false } as const;

/** A directory tree filtered by ignore rules (or unfiltered, without them). */
export class ContextTree {
  private readonly dirs = new Map<string, DirState>();
  private readonly exceptionPrefixes: string[] | undefined;

  /** Directories the walks listed, and those whose listing came from the listing cache. */
  readonly listed = { read: 0, reused: 0 };

  constructor(
    /** Absolute path of the root. */
    readonly root: string,
    readonly ignore?: IgnoreRules,
    /** The stat cache: listings of directories whose stamp has not changed since a build read them, and files' stamps. */
    private readonly cache?: Pick<StatCache, 'listing' | 'recordListing' | 'fileStamp'>,
  ) {
    this.dirs.set('.', { status: { state: 'included' }, info: undefined });
    const exceptions = ignore?.matcher.patterns.filter((p) => p.exclusion) ?? [];
    const plain = exceptions.map((p) => withoutTrailingGlob(p.cleaned));
    // with a wildcard in some exception, any excluded directory may hold re-included entries
    this.exceptionPrefixes = plain.some((p) => /[*[\]?^\\]/.test(p)) ? undefined : plain.map((p) => `${p}/`);
  }

  /** The host path of a context path. */
  abs(rel: string): string {
    if (rel === '.') return this.root;
    return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }

  /** Where `rel` stands (its parent directories must be real directories, not links). */
  status(rel: string, isDir: boolean): PathStatus {
    if (rel === '.') return { state: 'included' };
    if (isDir) return this.dirState(rel).status;
    const parent = this.dirState(parentOf(rel));
    return parent.status.state === 'hidden' || (parent.status.state === 'excluded' && !parent.status.entered)
      ? hiddenBy(parentOf(rel), parent.status)
      : this.matchStatus(rel, parent.info, false).status;
  }

  /** Whether the walk can enter the directory `rel` at all. */
  enters(rel: string): boolean {
    const s = this.dirState(rel).status;
    return s.state === 'included' || (s.state === 'excluded' && s.entered);
  }

  /** Whether `rel` (of the given type) is part of the context: included, or an entered directory with included content. */
  contains(rel: string, isDir: boolean): boolean {
    const s = this.status(rel, isDir);
    if (s.state === 'included') return true;
    return isDir && s.state === 'excluded' && s.entered && this.below(rel, true).length > 0;
  }

  /** lstat of one path as an entry; undefined when it does not exist. */
  entry(rel: string): ContextEntry | undefined {
    const abs = this.abs(rel);
    let st: Stats | undefined;
    try {
      // plain stats cost much less than bigint ones (and see stat-cache.ts on their precision)
      st = lstatSync(abs, NO_THROW);
    } catch (e) {
      if (isGone(e)) return undefined;
      throw unreadable(rel, e);
    }
    if (!st) return undefined;
    // plain numbers past 2^53 are rounded: the stat cache and the hard-link check need them exact
    if (st.ino > Number.MAX_SAFE_INTEGER || st.dev > Number.MAX_SAFE_INTEGER) return this.exactEntry(rel, abs);
    const kind = kindOf(st.mode);
    // BuildKit does not send FIFOs from the context: a COPY never sees them
    if (kind === 'fifo') return undefined;
    const target = kind === 'symlink' ? linkTarget(rel, abs) : undefined;
    if (kind === 'symlink' && target === undefined) return undefined;
    const { dev, ino, size, mtimeMs, ctimeMs } = st;
    const rdev = kind === 'char' || kind === 'block' ? BigInt(st.rdev) : undefined;
    const stamp = kind === 'file' && this.cache ? this.cache.fileStamp(dev, ino, size, mtimeMs, ctimeMs) : stampKeyOf(dev, ino, size, mtimeMs, ctimeMs);
    return newEntry(rel, kind, st.mode, size, stamp, mtimeMs > ctimeMs ? mtimeMs : ctimeMs, st.nlink, rdev, target);
  }

  /**
   * Everything in the context below the directory `rel`, depth first, the
   * names of each directory sorted (JavaScript string order), a directory
   * before its content. With `firstOnly`, stops after the first entry.
   */
  below(rel: string, firstOnly = false): ContextEntry[] {
    const out: ContextEntry[] = [];
    if (!this.enters(rel)) return out;
    this.collect(rel, this.entry(rel), this.dirState(rel), [], (r) => {
      const e = this.entry(r);
      if (e) out.push(e);
      return firstOnly && e ? STOP : e;
    });
    return out;
  }

  /**
   * Visits every existing path below the directory `rel` that the walk can
   * reach, included or not, depth first in sorted order, with its relative
   * path from `rel`. `visit` returns whether to descend into a directory.
   */
  scan(rel: string, visit: (relFromBase: string, rel: string, isDir: boolean) => boolean): void {
    if (!this.enters(rel)) return;
    const recurse = (dir: string, prefix: string): void => {
      const { names, types } = this.readDir(dir);
      names.forEach((name, i) => {
        const child = joinRel(dir, name);
        const fromBase = prefix === '' ? name : `${prefix}/${name}`;
        const isDir = types.charCodeAt(i) === DIR;
        if (visit(fromBase, child, isDir) && isDir && this.enters(child)) recurse(child, fromBase);
      });
    };
    recurse(rel, '');
  }

  /** entry() from bigint stats, for device or inode numbers past 2^53. */
  private exactEntry(rel: string, abs: string): ContextEntry | undefined {
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    } catch (e) {
      if (isGone(e)) return undefined;
      throw unreadable(rel, e);
    }
    if (!st) return undefined;
    const mode = Number(st.mode);
    const kind = kindOf(mode);
    if (kind === 'fifo') return undefined;
    const target = kind === 'symlink' ? linkTarget(rel, abs) : undefined;
    if (kind === 'symlink' && target === undefined) return undefined;
    const mtimeMs = msOf(st.mtimeNs);
    const ctimeMs = msOf(st.ctimeNs);
    const rdev = kind === 'char' || kind === 'block' ? st.rdev : undefined;
    return newEntry(rel, kind, mode, Number(st.size), stampKey(st), mtimeMs > ctimeMs ? mtimeMs : ctimeMs, Number(st.nlink), rdev, target);
  }

  /**
   * Calls `visit` with each path below the directory `dir` (whose entry is
   * `dirEntry`, if known) that the ignore rules leave in the context, in walk
   * order, and enters each directory `visit` returns the entry of, until
   * `visit` says stop; returns whether it did.
   */
  private collect(
    dir: string,
    dirEntry: ContextEntry | undefined,
    state: DirState,
    pending: { rel: string; visited: boolean }[],
    visit: (rel: string) => ContextEntry | undefined | typeof STOP,
  ): boolean {
    const matcher = this.ignore?.matcher;
    const prefix = dir === '.' ? '' : `${dir}/`;
    const { names, types } = this.readDir(dir, dirEntry);
    // an index, not for-of: this loop runs in every directory, mostly before the JIT has optimized it,
    // and unoptimized for-of allocates on every step
    for (let i = 0; i < names.length; i++) {
      const rel = prefix + (names[i] as string);
      let child: DirState | undefined;
      if (types.charCodeAt(i) === DIR) {
        child = this.matchStatus(rel, state.info, true);
        this.dirs.set(rel, child);
        const s = child.status;
        if (s.state === 'excluded' && s.entered) {
          pending.push({ rel, visited: false });
          const stop = this.collect(rel, undefined, child, pending, visit);
          pending.pop();
          if (stop) return true;
        }
        if (s.state !== 'included') continue;
      } else if (matcher && this.excludes(rel, state.info)) continue;
      // an excluded directory is in the context as the parent of what it re-includes
      for (const p of pending) {
        if (p.visited) continue;
        p.visited = true;
        if (visit(p.rel) === STOP) return true;
      }
      const next = visit(rel);
      if (next === STOP) return true;
      if (child && next?.kind === 'dir' && this.collect(rel, next, child, [], visit)) return true;
    }
    return false;
  }

  /** Whether a file (not a directory) in an entered directory is excluded: matchStatus without allocating. */
  private excludes(rel: string, parentInfo: MatchInfo | undefined): boolean {
    try {
      return (this.ignore as IgnoreRules).matcher.excludes(rel, parentInfo);
    } catch (e) {
      throw e instanceof BadPatternError && this.ignore ? badPattern(this.ignore, e) : e;
    }
  }

  /**
   * A directory's names, sorted, and which are directories: from the listing
   * cache when the directory (of entry `dirEntry`) has not changed since a
   * build read it. Permission problems inside excluded directories are skipped.
   */
  private readDir(dir: string, dirEntry?: ContextEntry): DirListing {
    const stamp = dirEntry?.kind === 'dir' ? dirEntry.stamp : undefined;
    const known = stamp === undefined ? undefined : this.cache?.listing(stamp);
    if (known) {
      this.listed.reused++;
      return known;
    }
    const readStartMs = Date.now();
    let found: Dirent[];
    try {
      found = readdirSync(this.abs(dir), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isGone(e)) return NO_NAMES;
      if ((code === 'EACCES' || code === 'EPERM') && this.dirState(dir).status.state !== 'included') return NO_NAMES;
      throw unreadable(dir, e);
    }
    this.listed.read++;
    found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const listing = { names: found.map((d) => d.name), types: found.map((d) => (d.isDirectory() ? 'd' : '-')).join('') };
    if (stamp !== undefined) this.cache?.recordListing(stamp, (dirEntry as ContextEntry).changedMs, listing, readStartMs);
    return listing;
  }

  private dirState(rel: string): DirState {
    const known = this.dirs.get(rel);
    if (known) return known;
    const parentRel = parentOf(rel);
    const parent = this.dirState(parentRel);
    const p = parent.status;
    const state: DirState =
      p.state === 'hidden' || (p.state === 'excluded' && !p.entered)
        ? { status: hiddenBy(parentRel, p), info: undefined }
        : this.matchStatus(rel, parent.info, true);
    this.dirs.set(rel, state);
    return state;
  }

  private matchStatus(rel: string, parentInfo: MatchInfo | undefined, isDir: boolean): DirState {
    const matcher = this.ignore?.matcher;
    if (!matcher) return { status: { state: 'included' }, info: undefined };
    let m;
    try {
      m = matcher.matchesUsingParentResults(rel, parentInfo);
    } catch (e) {
      throw e instanceof BadPatternError && this.ignore ? badPattern(this.ignore, e) : e;
    }
    if (!m.excluded) return { status: { state: 'included', ...(m.decidedBy && { decidedBy: m.decidedBy }) }, info: m.info };
    const decidedBy = m.decidedBy as Pattern;
    return { status: { state: 'excluded', decidedBy, entered: isDir && this.reincludesInside(rel) }, info: m.info };
  }

  /** Whether an exception pattern could re-include something inside the excluded directory `rel`. */
  private reincludesInside(rel: string): boolean {
    if (!this.exceptionPrefixes) return true;
    const dirSlash = `${rel}/`;
    return this.exceptionPrefixes.some((p) => p.startsWith(dirSlash));
  }
}

function hiddenBy(parentRel: string, parent: PathStatus): PathStatus {
  if (parent.state === 'hidden') return parent;
  if (parent.state === 'excluded') return { state: 'hidden', dir: parentRel, decidedBy: parent.decidedBy };
  throw new Error(`internal: ${parentRel} hides nothing`);
}

function withoutTrailingGlob(pattern: string): string {
  let p = pattern.endsWith('/**') ? pattern.slice(0, -3) : pattern;
  if (p.endsWith('/*')) p = p.slice(0, -2);
  return p;
}

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK } = constants;

function kindOf(mode: number): EntryKind {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFIFO:
      return 'fifo';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    default:
      return 'socket';
  }
}

function newEntry(rel: string, kind: EntryKind, mode: number, size: number, stamp: string, changedMs: number, links: number, rdev: bigint | undefined, target: string | undefined): ContextEntry {
  // one literal, so every entry has the same shape: the digest loops over thousands of them
  return { rel, kind, perm: mode & 0o7777, size, stamp, changedMs, links, rdev, target, sha256: undefined };
}

/** A symlink's target; undefined when the link is gone. */
function linkTarget(rel: string, abs: string): string | undefined {
  try {
    return readlinkSync(abs);
  } catch (e) {
    if (isGone(e)) return undefined;
    throw unreadable(rel, e);
  }
}

/** The directory part of a context path (`.` for top-level names). */
function parentOf(rel: string): string {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '.' : rel.slice(0, cut);
}

export function joinRel(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The error for a context path that cannot be read: names the path and the reason. */
export function unreadable(rel: string, e: unknown): UserError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : (err.code ?? UNKNOWN_ERRNO);
  return new UserError(`cannot read ${rel} in the build context: ${reason}`);
}

/** The major number of a Linux device number (glibc's gnu_dev_major). */
export function deviceMajor(rdev: bigint): bigint {
  return ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
}

/** The minor number of a Linux device number (glibc's gnu_dev_minor). */
export function deviceMinor(rdev: bigint): bigint {
  return (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
}
