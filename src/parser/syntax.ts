/**
 * The generic layer of the parser: every instruction as BuildKit's parser
 * sees it (keyword, flags, argument nodes, heredocs), before any instruction
 * gives them meaning. Unknown keywords and flags pass here; the typed layer
 * (`instructions/`) rejects them. BuildKit's parser conformance vectors are
 * checked against this layer through `dump.ts`.
 */
import type { Directive, Flag, Heredoc, Range, Word } from './ast.ts';
import { parseArguments, type SyntaxArgs } from './arguments.ts';
import { scanDirectives, type EscapeChar } from './directives.ts';
import { heredocWordsInLine, readHeredocBodies, type HeredocWord } from './heredoc.ts';
import { lexDockerfile } from './lexer.ts';
import { LogicalLine } from './logical.ts';
import { SourceText } from './source.ts';
import { UserError } from '../errors.ts';
import { readInstructions, type PhysicalInstruction } from './structure.ts';
import { extractFlags, isSpace, isSplitBlank, type ArgText } from './words.ts';

/** One instruction as the parser reads it. */
export interface SyntaxNode {
  /** The keyword as written. */
  keyword: Word;
  /** Every leading `--flag[=value]`, whether or not the instruction takes it. */
  flags: Flag[];
  args: SyntaxArgs;
  /** ONBUILD: the instruction it wraps (absent when nothing follows ONBUILD). */
  nested?: SyntaxNode;
  /** Shell-form RUN, COPY and ADD (also under ONBUILD): the bodies read after the line. */
  heredocs: Heredoc[];
  /** From the keyword to the end of the last continuation line. */
  range: Range;
  /** The logical line: continuations joined, comment lines dropped (BuildKit's `Original`). */
  original: string;
  /** The argument text after the flags, for errors that point into it. */
  rest: ArgText;
}

export interface SyntaxTree {
  file: string;
  directives: Directive[];
  escapeChar: EscapeChar;
  nodes: SyntaxNode[];
}

const HEREDOC_KEYWORDS = new Set(['add', 'copy', 'run']);

/**
 * Reads `text` into syntax nodes. `file` is only used in error locations.
 *
 * Throws a UserError for what BuildKit's parser rejects: a repeated or
 * invalid directive, a JSON array holding a non-string, an ENV/LABEL without
 * a value or with a word lacking `=`, a heredoc delimiter with an unclosed
 * quote, an unterminated heredoc, and a file with no instructions.
 */
export function parseSyntax(text: string, file: string): SyntaxTree {
  const source = new SourceText(text, file);
  const { directives, escapeChar } = scanDirectives(source);
  const nodes: SyntaxNode[] = [];
  readInstructions(lexDockerfile(text, escapeChar), text, escapeChar, (physical) => {
    const node = readNode(physical, source, escapeChar);
    if (!node) return physical.end;
    nodes.push(node);
    return attachHeredocs(node, physical, source);
  });
  if (nodes.length === 0) throw source.error('file with no instructions', source.bomLength);
  return { file, directives, escapeChar, nodes };
}

/** Joins the pieces and reads the node; undefined for a line that is empty once joined. */
function readNode(physical: PhysicalInstruction, source: SourceText, escapeChar: EscapeChar): SyntaxNode | undefined {
  const line = new LogicalLine(physical.pieces, source, physical.end);
  let start = 0;
  let end = line.text.length;
  while (start < end && isSpace(line.text[start])) start++;
  while (end > start && isSpace(line.text[end - 1])) end--;
  if (start === end) return undefined;
  return readInstruction({ line, start, end, escapeChar }, source.range(physical.start, physical.end));
}

/**
 * Keyword, flags and arguments of the instruction in `text`. ONBUILD nests
 * an instruction read from its own rest; the chain is built in a loop so
 * that `ONBUILD ONBUILD …` cannot exhaust the stack.
 */
function readInstruction(text: ArgText, range: Range): SyntaxNode {
  const top = readHeader(text, range);
  for (let node = top; ; ) {
    const keyword = node.keyword.value.toLowerCase();
    if (keyword !== 'onbuild') {
      node.args = parseArguments(keyword, node.rest);
      return top;
    }
    if (node.rest.start >= node.rest.end) return top;
    node.nested = readHeader(node.rest, range);
    node = node.nested;
  }
}

/** The keyword (up to the first blank) and the flags; arguments are filled in by the caller. */
function readHeader(text: ArgText, range: Range): SyntaxNode {
  const { line, start, end } = text;
  let keywordEnd = start;
  while (keywordEnd < end && !isSplitBlank(line.text[keywordEnd])) keywordEnd++;
  const { flags, restStart } = extractFlags({ ...text, start: keywordEnd });
  return {
    keyword: line.word(start, keywordEnd),
    flags,
    args: { kind: 'words', words: [], json: false },
    heredocs: [],
    range,
    original: line.text.slice(start, end),
    rest: { ...text, start: restStart },
  };
}

/** Whether BuildKit looks for heredocs in this node: RUN/COPY/ADD in shell form, directly or under ONBUILD. */
function canContainHeredoc(node: SyntaxNode): boolean {
  const inner = node.keyword.value.toLowerCase() === 'onbuild' && node.nested ? node.nested : node;
  if (!HEREDOC_KEYWORDS.has(inner.keyword.value.toLowerCase())) return false;
  return !(inner.args.kind === 'words' && inner.args.json);
}

/** Reads the node's heredoc bodies, if any; returns where the next instruction may start. */
function attachHeredocs(node: SyntaxNode, physical: PhysicalInstruction, source: SourceText): number {
  if (!canContainHeredoc(node) || !node.rest.line.text.includes('<<')) return physical.end;
  const line = node.rest.line;
  const words = heredocWordsInLineAt(line, node);
  if (words.length === 0) return physical.end;
  const unterminated = (word: HeredocWord) => {
    const at = line.text.indexOf(word.written);
    const offset = at === -1 ? node.keyword.range.start.offset : line.sourceOffset(at);
    return source.error(`unterminated heredoc: no line "${word.name}" ends it`, offset, {
      width: at === -1 ? node.keyword.value.length : word.written.length,
      hint: `the body must end with a line holding just ${word.name}${word.chomp ? ' (leading tabs allowed with <<-)' : ''}`,
    });
  };
  const bodies = readHeredocBodies(source, source.nextLineStart(physical.end), words, unterminated);
  node.heredocs = bodies.heredocs;
  if (node.nested) node.nested.heredocs = bodies.heredocs;
  return bodies.end;
}

/** The heredoc words of the node's line, with errors in a delimiter located at the line. */
function heredocWordsInLineAt(line: LogicalLine, node: SyntaxNode): HeredocWord[] {
  try {
    return heredocWordsInLine(line.text);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw line.source.error(e.message, node.keyword.range.start.offset, { width: node.keyword.value.length });
  }
}
