/**
 * The Dockerfile AST: what the parser produces and the planner consumes.
 *
 * Every node carries the source range it was read from so that later stages
 * can point at the exact text when they reject it. Words are kept as written
 * (quotes, escapes and `$VAR` untouched): expansion is the planner's job,
 * through `src/shell/`, because only it knows the variables in scope.
 */

/** A point in the Dockerfile. `line` and `column` are 1-based; `offset` is 0-based in UTF-16 units. */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

/** Half-open: `end` is just past the last character. */
export interface Range {
  start: Position;
  end: Position;
}

/** One whitespace-separated word of an instruction, or one string of a JSON array. */
export interface Word {
  /**
   * Shell-form words: the raw text (quotes and escapes kept). JSON-form
   * strings: the decoded string value.
   */
  value: string;
  range: Range;
}

/** `--name=value` or `--name` (value undefined). */
export interface Flag {
  name: string;
  value: string | undefined;
  range: Range;
}

/** `["a","b"]` (exec) or free text (shell) for RUN, CMD, ENTRYPOINT. */
export type CommandForm =
  | { form: 'exec'; args: Word[] }
  | { form: 'shell'; script: Word };

export interface KeyValue {
  key: Word;
  value: Word;
}

interface InstructionBase {
  /** The keyword exactly as written (case preserved). */
  keyword: Word;
  flags: Flag[];
  /** From the keyword to the end of the last continuation line. */
  range: Range;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  image: Word;
  /** The name after `AS`, as written. */
  stageName?: Word;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandForm;
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: CommandForm;
}

/** COPY and ADD share a shape: sources then destination. */
export interface CopyLikeInstruction extends InstructionBase {
  kind: 'COPY' | 'ADD';
  /** `json` when written as `["src", "dest"]`. */
  form: 'json' | 'shell';
  sources: Word[];
  dest: Word;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: KeyValue[];
  /**
   * True for the legacy `ENV key value` form: one pair whose value is the
   * rest of the line, kept verbatim. The `LegacyKeyValueFormat` check reports it.
   */
  legacy?: boolean;
}

export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
  /**
   * True for the legacy `LABEL key value` form: one pair whose value is the
   * rest of the line, kept verbatim. The `LegacyKeyValueFormat` check reports it.
   */
  legacy?: boolean;
}

export interface ArgDeclaration {
  name: Word;
  /** Absent for `ARG NAME`; present (maybe empty) for `ARG NAME=`. */
  defaultValue?: Word;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: ArgDeclaration[];
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: Word;
}

export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: Word;
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  ports: Word[];
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyLikeInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction;

export type InstructionKind = Instruction['kind'];

/** `# key=value` lines at the very top of the file. */
export interface Directive {
  /** Lower-cased. */
  name: string;
  value: string;
  range: Range;
}

export interface Dockerfile {
  /** The path given to the parser, used in error messages. */
  file: string;
  directives: Directive[];
  /** The escape character in force: `\` unless `# escape=` changed it. */
  escapeChar: '\\' | '`';
  instructions: Instruction[];
}
