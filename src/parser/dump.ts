/**
 * Prints the generic layer in BuildKit's parser "dump" format, one
 * `(instr args…)` line per instruction, so the BuildKit conformance vectors
 * can be compared byte for byte.
 */
import type { SyntaxNode, SyntaxTree } from './syntax.ts';

/**
 * The dump text: each instruction as `(keyword ["--flag=v"…] "arg"…)`,
 * lines joined with `\n` and no trailing newline. ENV/LABEL print
 * key/value/separator triples (the separator is empty for the legacy form),
 * an unknown instruction one empty string, ONBUILD its instruction nested in
 * parentheses; heredoc bodies are not part of it.
 */
export function dumpSyntax(tree: SyntaxTree): string {
  return tree.nodes.map(dumpNode).join('\n');
}

function dumpNode(top: SyntaxNode): string {
  const levels: string[] = [];
  for (let node: SyntaxNode | undefined = top; node; node = node.nested) {
    const parts = [node.keyword.value.toLowerCase()];
    if (node.flags.length > 0) {
      parts.push(`[${node.flags.map((f) => goQuote(`--${f.name}${f.value === undefined ? '' : `=${f.value}`}`)).join(' ')}]`);
    }
    parts.push(...argumentsOf(node).map(goQuote));
    levels.push(parts.join(' '));
  }
  return `(${levels.join(' (')}${')'.repeat(levels.length)}`;
}

function argumentsOf(node: SyntaxNode): string[] {
  const { args } = node;
  switch (args.kind) {
    case 'words':
      return args.words.map((w) => w.value);
    case 'pairs': {
      const sep = args.legacy ? '' : '=';
      return args.pairs.flatMap((p) => [p.key.value, p.value.value, sep]);
    }
    case 'healthcheck':
      return args.type ? [args.type.value, ...args.command.map((w) => w.value)] : [];
    case 'ignored':
      return [''];
  }
}

/**
 * Go's strconv.Quote: `\xHH` for control bytes, `\uHHHH` for non-printable
 * runes, printable Unicode kept. A lone surrogate (only a JSON `\ud800`
 * escape makes one) prints as U+FFFD, the character Go's JSON decoder puts
 * in its place.
 */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) out += named;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\uFFFD';
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
const isPrintable = (ch: string): boolean => /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
