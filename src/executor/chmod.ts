import { UserError } from '../errors.ts';

/** How a `--chmod` value changes a copied entry's mode: `(current mode, is a directory) → new mode`. */
export type ModeChange = (mode: number, isDir: boolean) => number;

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

/**
 * Parses `--chmod`: octal (`755`, `0644`) sets the mode outright; symbolic
 * (`u=rwX,go=rX`, `a+x`, `o-w`) works as chmod(1) does, with `X` meaning
 * "execute for directories, and for files already executable by someone".
 */
export function parseChmod(spec: string): ModeChange {
  if (/^[0-7]{3,4}$/.test(spec)) {
    const mode = parseInt(spec, 8);
    return () => mode;
  }
  const clauses = spec.split(',').map((clause) => {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!m) throw new UserError(`invalid --chmod=${spec}: expected an octal mode (0755) or a symbolic one (u=rwX,go=rX)`);
    return { who: m[1] || 'a', op: m[2] as '-' | '+' | '=', perms: m[3] ?? '' };
  });
  return (mode, isDir) => {
    let out = mode & 0o7777;
    for (const { who, op, perms } of clauses) {
      const mask = [...who].reduce((acc, w) => acc | (WHO[w] ?? 0), 0);
      let bits = 0;
      for (const p of perms) {
        if (p === 'r') bits |= 0o444;
        else if (p === 'w') bits |= 0o222;
        else if (p === 'x' || (p === 'X' && (isDir || (mode & 0o111) !== 0))) bits |= 0o111;
        else if (p === 's') bits |= 0o6000;
        else if (p === 't') bits |= 0o1000;
      }
      bits &= mask;
      if (op === '+') out |= bits;
      else if (op === '-') out &= ~bits;
      else out = (out & ~(mask & 0o7777)) | bits;
    }
    return out;
  };
}
