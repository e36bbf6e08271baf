/**
 * Which flags each instruction takes, and reading a node's flags against
 * that list: unknown names (with a suggestion and the valid list), repeats,
 * missing values and bad booleans are parse errors, as in BuildKit's
 * instruction layer.
 */
import type { Flag, Word } from '../ast.ts';
import { closest } from '../suggest.ts';
import type { SyntaxNode } from '../syntax.ts';
import { sourceOf } from './common.ts';

/** `string` needs a value, `bool` takes none or true/false, `list` is a repeatable string. */
export type FlagKind = 'string' | 'bool' | 'list';

export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** The flags found, by name: strings and lists as words (value and its range), booleans as booleans. */
export interface FlagValues {
  strings: Map<string, Word>;
  lists: Map<string, Word[]>;
  bools: Map<string, boolean>;
}

/** The flag's value as a word pointing at the value (or at the flag when it has none). */
const flagWord = (flag: Flag): Word => ({ value: flag.value ?? '', range: flag.valueRange ?? flag.range });

/**
 * Checks `node.flags` against `spec` (`instruction` names it in messages) and
 * returns their values. Throws a UserError at the first bad flag.
 */
export function readFlags(node: SyntaxNode, spec: FlagSpec, instruction: string): FlagValues {
  const source = sourceOf(node);
  const values: FlagValues = { strings: new Map(), lists: new Map(), bools: new Map() };
  const seen = new Set<string>();
  for (const flag of node.flags) {
    const at = flag.range.start.offset;
    const width = flag.range.end.offset - at;
    const kind = Object.hasOwn(spec, flag.name) ? spec[flag.name] : undefined;
    if (kind === undefined) {
      const names = Object.keys(spec);
      const guess = closest(flag.name, names);
      const valid = names.length === 0 ? `${instruction} takes no flags` : `${instruction} takes ${names.map((n) => `--${n}`).join(', ')}`;
      throw source.error(`unknown flag: --${flag.name}`, at, { width, hint: guess ? `did you mean --${guess}? (${valid})` : valid });
    }
    if (kind !== 'list' && seen.has(flag.name)) {
      throw source.error(`duplicate flag specified: --${flag.name}`, at, { width, hint: `give --${flag.name} once` });
    }
    seen.add(flag.name);
    if (kind === 'bool') {
      values.bools.set(flag.name, readBool(flag, source, at, width));
      continue;
    }
    if (flag.value === undefined) {
      throw source.error(`missing a value on flag: --${flag.name}`, at, { width, hint: `write --${flag.name}=VALUE` });
    }
    if (kind === 'string') values.strings.set(flag.name, flagWord(flag));
    else values.lists.set(flag.name, [...(values.lists.get(flag.name) ?? []), flagWord(flag)]);
  }
  return values;
}

function readBool(flag: Flag, source: ReturnType<typeof sourceOf>, at: number, width: number): boolean {
  if (flag.value === undefined) return true;
  if (flag.value === '') {
    throw source.error(`missing a value on flag: --${flag.name}`, at, { width, hint: `write --${flag.name} or --${flag.name}=true|false` });
  }
  const lower = flag.value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw source.error(`expecting boolean value for flag --${flag.name}, not: ${flag.value}`, at, {
    width,
    hint: `write --${flag.name}=true or --${flag.name}=false`,
  });
}
