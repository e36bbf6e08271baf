import { lstat, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { UserError, type SourceLocation } from '../errors.ts';

/** One context path a COPY/ADD source pattern matched. */
export interface SelectedPath {
  /** Relative to the context root, `/`-separated, no leading `./`. `.` is the root itself. */
  rel: string;
  isDir: boolean;
}

const GLOB_CHARS = /[*?[\\]/;

/**
 * Resolves COPY/ADD source patterns against a directory (the build context or
 * another stage's rootfs). Sources are relative to the root; a leading `/` and
 * `..` components are clamped at the root, as Docker does. Each path component
 * may use Go `filepath.Match` wildcards (`*`, `?`, `[...]`). A pattern that
 * matches nothing is an error naming the pattern.
 */
export async function selectSources(root: string, patterns: readonly string[], where: SourceLocation): Promise<SelectedPath[]> {
  const out: SelectedPath[] = [];
  for (const pattern of patterns) {
    const clean = posix.normalize(`/${pattern}`).slice(1) || '.';
    const matches = GLOB_CHARS.test(clean) ? await globMatch(root, clean.split('/')) : await literal(root, clean);
    if (matches.length === 0) {
      throw new UserError(`COPY failed: file not found in build context: ${pattern}`, where);
    }
    out.push(...matches);
  }
  return out;
}

async function literal(root: string, rel: string): Promise<SelectedPath[]> {
  try {
    const st = await lstat(posix.join(root, rel));
    return [{ rel, isDir: st.isDirectory() }];
  } catch {
    return [];
  }
}

async function globMatch(root: string, parts: string[]): Promise<SelectedPath[]> {
  let current: string[] = ['.'];
  for (const part of parts) {
    const next: string[] = [];
    const re = GLOB_CHARS.test(part) ? globToRegExp(part) : undefined;
    for (const dir of current) {
      if (!re) {
        next.push(dir === '.' ? part : `${dir}/${part}`);
        continue;
      }
      let names: string[];
      try {
        names = await readdir(posix.join(root, dir));
      } catch {
        continue;
      }
      for (const name of names.sort()) if (re.test(name)) next.push(dir === '.' ? name : `${dir}/${name}`);
    }
    current = next;
  }
  const found = await Promise.all(current.map((rel) => literal(root, rel)));
  return found.flat();
}

/** Go's filepath.Match for one path component: `*`, `?`, `[a-z]`, `[^x]`, and `\` escapes. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new UserError(`syntax error in pattern ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\(.)/g, '\\$1')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
