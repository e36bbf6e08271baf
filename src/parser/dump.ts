/**
 * Prints an AST in BuildKit's parser "dump" format, one `(instr args…)` line
 * per instruction, so the BuildKit conformance vectors can be compared byte
 * for byte.
 */
import type { CommandForm, Dockerfile, Flag, Instruction, Word } from './ast.ts';

/**
 * The dump text: each instruction as `(keyword ["--flag=v"…] "arg"…)`,
 * lines joined with `\n` and no trailing newline. Arguments follow what
 * BuildKit's parser stores: ENV/LABEL as key/value/separator triples (the
 * separator is empty for the legacy form), ARG as whole `name=default`
 * words, JSON strings decoded and everything else raw.
 */
export function dumpDockerfile(dockerfile: Dockerfile): string {
  return dockerfile.instructions.map(dumpInstruction).join('\n');
}

function dumpInstruction(instruction: Instruction): string {
  const parts = [instruction.keyword.value.toLowerCase()];
  if (instruction.flags.length > 0) parts.push(`[${instruction.flags.map((f) => goQuote(flagText(f))).join(' ')}]`);
  parts.push(...argumentsOf(instruction).map(goQuote));
  return `(${parts.join(' ')})`;
}

const flagText = (flag: Flag): string => `--${flag.name}${flag.value === undefined ? '' : `=${flag.value}`}`;

const values = (words: readonly Word[]): string[] => words.map((w) => w.value);

function commandArguments(command: CommandForm): string[] {
  return command.form === 'exec' ? values(command.args) : [command.script.value];
}

function argumentsOf(instruction: Instruction): string[] {
  switch (instruction.kind) {
    case 'FROM':
      return instruction.stageName
        ? [instruction.image.value, 'AS', instruction.stageName.value]
        : [instruction.image.value];
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return commandArguments(instruction.command);
    case 'COPY':
    case 'ADD':
      return [...values(instruction.sources), instruction.dest.value];
    case 'ENV':
    case 'LABEL': {
      const sep = instruction.legacy ? '' : '=';
      return instruction.pairs.flatMap((p) => [p.key.value, p.value.value, sep]);
    }
    case 'ARG':
      return instruction.args.map((a) => (a.defaultValue ? `${a.name.value}=${a.defaultValue.value}` : a.name.value));
    case 'WORKDIR':
      return [instruction.path.value];
    case 'USER':
      return [instruction.user.value];
    case 'EXPOSE':
      return values(instruction.ports);
  }
}

/** Go's strconv.Quote: `\xHH` for control bytes, `\uHHHH` for non-printable runes, printable Unicode kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) out += named;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (isPrintable(ch)) out += ch;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const isPrintable = (ch: string): boolean => ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
