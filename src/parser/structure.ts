/**
 * The line structure of a Dockerfile, recognised by a Chevrotain parser over
 * the physical tokens: which tokens form one instruction once continuations
 * are joined and comment or empty lines inside them are dropped.
 */
import { EmbeddedActionsParser, tokenMatcher, type IToken } from 'chevrotain';
import { allTokens, Blank, Comment, Continuation, Newline, Text } from './lexer.ts';

/** The tokens of one instruction, before any interpretation. */
export interface PhysicalInstruction {
  /** Text and Blank tokens in source order: joined, they are the logical line. */
  pieces: IToken[];
  /** Source offset of the first token. */
  start: number;
  /** Source offset just past the last token that is not a line break. */
  end: number;
}

const tokenEnd = (t: IToken): number => t.startOffset + t.image.length;

class StructureParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { maxLookahead: 2, recoveryEnabled: false });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', (): PhysicalInstruction[] => {
    const instructions: PhysicalInstruction[] = [];
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Blank) },
        { ALT: () => this.CONSUME(Comment) },
        {
          ALT: () => {
            const instruction = this.SUBRULE(this.instruction);
            this.ACTION(() => instructions.push(instruction));
          },
        },
      ]);
    });
    return instructions;
  });

  private instruction = this.RULE('instruction', (): PhysicalInstruction => {
    const pieces: IToken[] = [];
    let first: IToken | undefined;
    let last: IToken | undefined;
    const content = (t: IToken) =>
      this.ACTION(() => {
        pieces.push(t);
        first ??= t;
        last = t;
      });
    const continued = (t: IToken) =>
      this.ACTION(() => {
        first ??= t;
        last = t;
      });
    this.OR([
      { ALT: () => content(this.CONSUME(Text)) },
      { ALT: () => continued(this.SUBRULE(this.continued)) },
    ]);
    this.MANY(() => {
      this.OR2([
        { ALT: () => content(this.CONSUME2(Text)) },
        { ALT: () => content(this.CONSUME(Blank)) },
        { ALT: () => continued(this.SUBRULE2(this.continued)) },
      ]);
    });
    return this.ACTION(() => {
      const start = first?.startOffset ?? 0;
      return { pieces, start, end: last ? tokenEnd(last) : start };
    });
  });

  /** A continuation plus the empty and comment lines it skips; returns the last token kept in the range. */
  private continued = this.RULE('continued', (): IToken => {
    let last = this.CONSUME(Continuation);
    this.OPTION(() => {
      this.CONSUME(Newline);
      this.MANY({
        GATE: () => this.atSkippedLine(),
        DEF: () => {
          const comment = this.SUBRULE(this.skippedLine);
          if (comment) last = comment;
        },
      });
    });
    return last;
  });

  /**
   * Blanks followed by a line break or a comment make a skipped line; blanks
   * followed by text are kept as the indentation of a continuation line. Two
   * tokens of lookahead across rule boundaries, which Chevrotain does not
   * compute for MANY on its own.
   */
  private atSkippedLine(): boolean {
    const isSkipped = (t: IToken) => tokenMatcher(t, Newline) || tokenMatcher(t, Comment);
    const next = this.LA(1);
    return isSkipped(next) || (tokenMatcher(next, Blank) && isSkipped(this.LA(2)));
  }

  /** An empty or comment line inside a continued instruction; returns the comment, if any. */
  private skippedLine = this.RULE('skippedLine', (): IToken | undefined => {
    let comment: IToken | undefined;
    this.OPTION(() => this.CONSUME2(Blank));
    this.OR([
      { ALT: () => this.CONSUME2(Newline) },
      {
        ALT: () => {
          comment = this.CONSUME(Comment);
          this.OPTION2(() => this.CONSUME3(Newline));
        },
      },
    ]);
    return comment;
  });
}

let parser: StructureParser | undefined;

/**
 * Groups physical tokens into instructions. The grammar accepts every token
 * sequence the lexer can produce, so a failure here is a tsbuild bug.
 */
export function groupInstructions(tokens: IToken[]): PhysicalInstruction[] {
  parser ??= new StructureParser();
  parser.input = tokens;
  const result = parser.file();
  if (parser.errors.length > 0) {
    throw new Error(`structure parser bug: ${parser.errors[0]?.message ?? ''}`);
  }
  return result;
}
