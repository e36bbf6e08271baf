/**
 * Why a path is or is not in the build context: the answer behind
 * `tsbuild context --explain PATH`, naming the ignore-file line that decided.
 *
 *   explainPath(tree, 'src/debug.log')
 *   // { inContext: false, reason: 'excluded by .dockerignore:2: **\/*.log' }
 */
import { isAbsolute, relative } from 'node:path';
import { UserError } from '../errors.ts';
import { goClean } from './go-path.ts';
import { describePattern } from './ignore-file.ts';
import { joinRel, type ContextTree } from './tree.ts';

export interface Explanation {
  /** The path relative to the context root. */
  path: string;
  inContext: boolean;
  reason: string;
}

/** Explains `path`: relative to the context root, or an absolute path inside it. */
export function explainPath(tree: ContextTree, path: string): Explanation {
  const rel = contextRelative(tree, path);
  const answer = (inContext: boolean, reason: string): Explanation => ({ path: rel, inContext, reason });
  if (rel === '.') return answer(true, 'the context root');
  let dir = '.';
  for (const part of rel.split('/').slice(0, -1)) {
    dir = joinRel(dir, part);
    const e = tree.entry(dir);
    if (!e) return answer(false, `no such file or directory (${dir} does not exist)`);
    if (e.kind === 'symlink') return answer(false, `${dir} is a symbolic link, and links are never followed`);
    if (e.kind !== 'dir') return answer(false, `${dir} is not a directory`);
  }
  const entry = tree.entry(rel);
  const isDir = entry?.kind === 'dir';
  const s = tree.status(rel, isDir);
  const rules = tree.ignore;
  let verdict: Explanation;
  if (s.state === 'included') {
    const why = s.decidedBy && rules ? `re-included by ${describePattern(rules, s.decidedBy)}` : rules ? `no pattern in ${rules.displayName} matches it` : 'there is no ignore file';
    verdict = answer(true, why);
  } else if (s.state === 'hidden') {
    verdict = answer(false, `its directory ${s.dir} is excluded by ${describePattern(rules as NonNullable<typeof rules>, s.decidedBy)}, and no exception pattern reaches inside it`);
  } else {
    const by = describePattern(rules as NonNullable<typeof rules>, s.decidedBy);
    verdict =
      isDir && s.entered && tree.below(rel, true).length > 0
        ? answer(true, `only as the directory of re-included entries: itself excluded by ${by}`)
        : answer(false, `excluded by ${by}`);
  }
  return entry ? verdict : answer(false, `no such file or directory (it would be ${verdict.inContext ? 'included' : 'excluded'}: ${verdict.reason})`);
}

function contextRelative(tree: ContextTree, path: string): string {
  const rel = isAbsolute(path) ? relative(tree.root, path) : goClean(path);
  const clean = goClean(rel);
  if (clean === '..' || clean.startsWith('../') || isAbsolute(clean)) throw new UserError(`${path} is outside the build context ${tree.root}`);
  return clean;
}
