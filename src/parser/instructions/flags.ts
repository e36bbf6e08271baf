/**
 * Which flags each instruction accepts, and checking a flag list against it.
 */
import type { Flag, InstructionKind } from '../ast.ts';
import type { SourceText } from '../source.ts';

/** `string` needs a value, `bool` takes none or true/false, `list` is a repeatable string. */
type FlagKind = 'string' | 'bool' | 'list';

const ALLOWED: Record<InstructionKind, Readonly<Record<string, FlagKind>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'list', network: 'string', security: 'string' },
  CMD: {},
  ENTRYPOINT: {},
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    exclude: 'list',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
  },
  ENV: {},
  LABEL: {},
  ARG: {},
  WORKDIR: {},
  USER: {},
  EXPOSE: {},
};

/**
 * Throws a UserError at the first flag that `kind` does not accept: an
 * unknown name, a repeated non-list flag, a missing value, or a boolean flag
 * whose value is not true/false.
 */
export function checkFlags(kind: InstructionKind, flags: readonly Flag[], source: SourceText): void {
  const allowed = ALLOWED[kind];
  const seen = new Set<string>();
  for (const flag of flags) {
    const at = flag.range.start.offset;
    const flagKind = Object.hasOwn(allowed, flag.name) ? allowed[flag.name] : undefined;
    if (flagKind === undefined) throw source.error(`unknown flag: ${flag.name}`, at);
    if (flagKind !== 'list' && seen.has(flag.name)) throw source.error(`duplicate flag specified: ${flag.name}`, at);
    seen.add(flag.name);
    if (flagKind !== 'bool' && flag.value === undefined) throw source.error(`missing a value on flag: ${flag.name}`, at);
    if (flagKind === 'bool' && flag.value !== undefined && !/^(true|false)$/i.test(flag.value)) {
      throw source.error(`expecting boolean value for flag ${flag.name}, not: ${flag.value}`, at);
    }
  }
}
