/**
 * The line structure of a Dockerfile, recognised by a Chevrotain parser over
 * the line tokens: which lines form one instruction (continued lines up to
 * one that is not, with the blank and comment lines among them dropped), and
 * which lines after an instruction are its heredoc bodies rather than
 * instructions.
 */
import { EmbeddedActionsParser, type IOrAlt, type IToken } from 'chevrotain';
import type { EscapeChar } from './directives.ts';
import { allTokens, AnyLine, BlankLine, CommentLine, contentEnd, ContinuedLine, continuationAt, indentEnd, TextLine } from './lexer.ts';

/** Source offsets [start, end) of text that is part of an instruction's logical line. */
export interface Piece {
  start: number;
  end: number;
}

/** The lines of one instruction, before any interpretation. */
export interface PhysicalInstruction {
  /** In source order: joined, they are the logical line (continuation chars and line breaks left out). */
  pieces: Piece[];
  /** Source offset of the first character after the first line's indentation. */
  start: number;
  /** Source offset just past the last character that is not a line break (skipped comment lines count). */
  end: number;
}

/**
 * Receives each instruction as soon as it is recognised and returns the
 * source offset where the next one may start: past its heredoc bodies when
 * it has some, else anything up to its own end.
 */
export type InstructionSink = (instruction: PhysicalInstruction) => number;

const tokenEnd = (t: IToken): number => t.startOffset + t.image.length;

/**
 * The grammar, with the state of the instruction being read kept on the
 * instance so that the DSL callbacks are built once rather than per line.
 */
class StructureParser extends EmbeddedActionsParser {
  sink: InstructionSink = () => 0;
  text = '';
  escape: EscapeChar = '\\';
  private pieces: Piece[] = [];
  private start = 0;
  private end = 0;
  private resumeAt = 0;

  private readonly lineAlternatives: IOrAlt<unknown>[] = [
    { ALT: () => this.CONSUME(BlankLine) },
    { ALT: () => this.CONSUME(CommentLine) },
    { ALT: () => this.SUBRULE(this.instruction) },
  ];

  private readonly instructionAlternatives: IOrAlt<unknown>[] = [
    { ALT: () => this.textLine(this.CONSUME(TextLine)) },
    {
      ALT: () => {
        this.AT_LEAST_ONE(this.continuedPart);
        this.OPTION(this.lastLine);
      },
    },
  ];

  private readonly skippedAlternatives: IOrAlt<unknown>[] = [
    { ALT: () => this.CONSUME2(BlankLine) },
    { ALT: () => this.comment(this.CONSUME2(CommentLine)) },
  ];

  private readonly lineLoop = (): void => void this.OR(this.lineAlternatives);
  private readonly continuedPart = (): void => this.SUBRULE(this.continued);
  private readonly lastLine = (): void => this.textLine(this.CONSUME2(TextLine));
  private readonly skippedLine = (): void => void this.OR2(this.skippedAlternatives);
  private readonly heredocBodies = {
    GATE: (): boolean => this.LA(1).startOffset < this.resumeAt,
    DEF: (): void => void this.CONSUME(AnyLine),
  };

  constructor() {
    super(allTokens(), { maxLookahead: 1, recoveryEnabled: false, skipValidations: true });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(this.lineLoop);
  });

  private instruction = this.RULE('instruction', () => {
    this.pieces = [];
    this.start = -1;
    this.OR(this.instructionAlternatives);
    if (!this.RECORDING_PHASE) this.resumeAt = this.sink({ pieces: this.pieces, start: this.start, end: this.end });
    this.MANY(this.heredocBodies);
  });

  /** A continued line plus the blank and comment lines after it. */
  private continued = this.RULE('continued', () => {
    const t = this.CONSUME(ContinuedLine);
    if (!this.RECORDING_PHASE) {
      const at = continuationAt(this.text, t.startOffset, tokenEnd(t), this.escape);
      this.add(t.startOffset, at, contentEnd(this.text, t.startOffset, tokenEnd(t)));
    }
    this.MANY(this.skippedLine);
  });

  /** The line that ends an instruction. */
  private textLine(t: IToken): void {
    if (this.RECORDING_PHASE) return;
    const end = contentEnd(this.text, t.startOffset, tokenEnd(t));
    this.add(t.startOffset, end, end);
  }

  /** A comment line inside a continued instruction: no text, but the instruction's range covers it. */
  private comment(t: IToken): void {
    if (!this.RECORDING_PHASE) this.end = contentEnd(this.text, t.startOffset, tokenEnd(t));
  }

  /** Text [from, to) joins the logical line; the instruction now ends at `end`. The first line loses its indentation. */
  private add(from: number, to: number, end: number): void {
    const start = this.start === -1 ? Math.min(indentEnd(this.text, from), to) : from;
    if (this.start === -1) this.start = start;
    if (to > start) this.pieces.push({ start, end: to });
    this.end = end;
  }
}

let parser: StructureParser | undefined;

/**
 * Feeds each instruction of the line tokens of `text` to `sink`, skipping
 * the lines before the offset it returns. The grammar accepts every token
 * sequence the lexer can produce, so a failure here is a tsbuild bug;
 * errors thrown by `sink` pass through.
 */
export function readInstructions(tokens: IToken[], text: string, escape: EscapeChar, sink: InstructionSink): void {
  parser ??= new StructureParser();
  parser.sink = sink;
  parser.text = text;
  parser.escape = escape;
  parser.input = tokens;
  try {
    parser.file();
  } finally {
    parser.text = '';
  }
  if (parser.errors.length > 0) {
    throw new Error(`structure parser bug: ${parser.errors[0]?.message ?? ''}`);
  }
}
