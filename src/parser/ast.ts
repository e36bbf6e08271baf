/**
 * The Dockerfile AST: what the parser produces and the planner consumes.
 *
 * Every node carries the source range it was read from so that later stages
 * can point at the exact text when they reject it. Words are kept as written
 * (quotes, escapes and `$VAR` untouched): expansion is the planner's job,
 * through `src/shell/`, because only it knows the variables in scope. Flag
 * values are the exception BuildKit makes: quotes and escapes are removed
 * (`--chown="a b"` → `a b`), variables are not expanded.
 *
 * Flags are checked when parsing: an unknown flag, a missing value, a bad
 * boolean, mount type or option, network or security mode, or duration is a
 * parse error. A flag value that holds a variable can only be checked once
 * it is expanded, by the planner.
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
   * strings: the decoded string value. Typed flag values: the flag's value.
   */
  value: string;
  range: Range;
}

/** `--name=value` or `--name` (value undefined), quotes and escapes removed. */
export interface Flag {
  name: string;
  value: string | undefined;
  /** The whole flag, from `--`. */
  range: Range;
  /** Just the value, after the first `=`; absent when there is no value. */
  valueRange?: Range;
}

/** `["a","b"]` (exec) or free text (shell) for RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD. */
export type CommandForm =
  | { form: 'exec'; args: Word[] }
  | { form: 'shell'; script: Word };

export interface KeyValue {
  key: Word;
  value: Word;
}

/**
 * A here-document: `<<EOF` in a shell-form RUN, COPY or ADD line (or in
 * ONBUILD's trigger), with its body on the lines after the instruction.
 * `RUN <<EOF` makes the body the script; `RUN python3 <<EOF` feeds it to
 * the command's stdin (or to fd `fd`); `COPY <<EOF /dst` makes it a file
 * named `name`.
 */
export interface Heredoc {
  /** The delimiter with quotes removed: `EOF` for `<<"EOF"`, `one two` for `<<'one two'`. */
  name: string;
  /**
   * The body as the instruction uses it: every line up to the delimiter
   * line, each with its line break (`\n` or `\r\n` as written); with `<<-`,
   * the leading tabs of every line removed.
   */
  content: string;
  /** The body exactly as written: leading tabs kept even with `<<-` (BuildKit's parser output). */
  rawContent: string;
  /**
   * False when any part of the delimiter was quoted (`<<'EOF'`, `<<E"O"F`):
   * then `$VAR` in the body stays literal. When true the planner expands
   * the body (COPY/ADD) or leaves it to the shell (RUN).
   */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body lines and ignored on the delimiter line. */
  chomp: boolean;
  /** `3<<EOF` → 3; 0 (stdin) when no number is written. */
  fd: number;
  /** From the first body line to the end of the delimiter line. */
  range: Range;
}

interface InstructionBase {
  /** The keyword exactly as written (case preserved). */
  keyword: Word;
  /** Every flag as written, in order; the typed fields below are read from them. */
  flags: Flag[];
  /** From the keyword to the end of the last continuation line (heredoc bodies not included). */
  range: Range;
}

/** `FROM [--platform=P] image [AS name]` */
export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  image: Word;
  /** The name after `AS`, as written (stage names compare lower-cased). Checked against `^[a-z][a-z0-9-_.]*$`. */
  stageName?: Word;
  /** `--platform`, unexpanded (usually `$BUILDPLATFORM`). */
  platform?: Word;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type MountSharing = 'shared' | 'private' | 'locked';

/**
 * One `RUN --mount=…`: the CSV options read into fields. Keys are
 * case-insensitive and have aliases (`src`/`source`, `dst`/`destination`/
 * `target`, `ro`/`readonly`, `rw`/`readwrite`).
 *
 * The string options (target, source, from, id, env) are kept as written:
 * the planner expands their variables. A typed option whose value holds a
 * variable (`uid=$UID`, `type=$T`) cannot be checked before expansion: its
 * key is listed in `deferred` and its field keeps its default; the planner
 * then re-reads `spec.value` with `parseMount` (instructions/mount.ts) and
 * an expander.
 */
export interface RunMount {
  /** The `--mount` value, quotes removed, variables not expanded. */
  spec: Word;
  /** `bind` when not given. */
  type: MountType;
  target?: string;
  source?: string;
  /** A stage, image or named context to mount from (bind and cache). */
  from?: string;
  /** Cache id (cache) or secret/ssh id. */
  id?: string;
  /** `secret` mounts: expose the secret as this environment variable instead of a file. */
  env?: string;
  /** Default: true for bind, secret and ssh; false for cache and tmpfs. */
  readOnly: boolean;
  /** `secret` and `ssh` only: fail when the secret or agent is missing. */
  required: boolean;
  /** `cache` only. */
  sharing?: MountSharing;
  /** `tmpfs` only: bytes (`64m` → 67108864). */
  size?: number;
  /** `cache`, `secret`, `ssh`: octal file mode, uid and gid. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Lower-cased keys of typed options whose values hold variables (see above). */
  deferred: string[];
}

/** `RUN [--mount=…]… [--network=…] [--security=…] command`, with heredocs. */
export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandForm;
  mounts: RunMount[];
  /** `default` when not given. */
  network: 'default' | 'none' | 'host';
  /** `sandbox` when not given; `insecure` needs an entitlement. */
  security: 'sandbox' | 'insecure';
  /** Shell form only; in source order. */
  heredocs: Heredoc[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: CommandForm;
}

/** `SHELL ["exe", "arg"…]`: JSON form only, at least one element. */
export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: Word[];
}

/** COPY and ADD share a shape: sources then destination. */
export interface CopyLikeInstruction extends InstructionBase {
  kind: 'COPY' | 'ADD';
  /** `json` when written as `["src", "dest"]`. */
  form: 'json' | 'shell';
  /** Every source word as written, heredoc sources (`<<EOF`) included. */
  sources: Word[];
  dest: Word;
  /** The sources that name paths (or URLs, for ADD): `sources` without the heredoc ones. */
  paths: Word[];
  /** The inline sources, in order: each makes a file named `name` holding `content`. */
  heredocs: Heredoc[];
  /** COPY `--from=stage|image|context`. */
  from?: Word;
  chown?: Word;
  chmod?: Word;
  /** `--link[=bool]`. */
  link: boolean;
  /** COPY `--parents[=bool]`. */
  parents: boolean;
  /** `--exclude=glob`, repeatable. */
  exclude: Word[];
  /** ADD `--checksum=sha256:…` (URL) or a commit prefix (Git). */
  checksum?: Word;
  /** ADD `--keep-git-dir[=bool]`; undefined when not written. */
  keepGitDir?: boolean;
  /** ADD `--unpack[=bool]`; undefined when not written (archives from the context are unpacked, URLs are not). */
  unpack?: boolean;
}

export type CopyInstruction = CopyLikeInstruction & { kind: 'COPY' };
export type AddInstruction = CopyLikeInstruction & { kind: 'ADD' };

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
  /** In source order (BuildKit sorts them when building the config). */
  ports: Word[];
}

/** `VOLUME ["/a", "/b"]` or `VOLUME /a /b`. */
export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  form: 'json' | 'shell';
  /** Never empty strings. */
  paths: Word[];
}

/** `STOPSIGNAL SIGTERM|9|SIGRTMIN+3`; the word is expanded by the planner. */
export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: Word;
}

/** `MAINTAINER name` (deprecated): sets the image author. */
export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  maintainer: Word;
}

/**
 * `ONBUILD <instruction>`: stored in the image config, run by images built
 * FROM this one. The trigger is parsed and checked like any instruction;
 * ONBUILD, FROM and MAINTAINER are not allowed as triggers.
 */
export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  trigger: Instruction;
  /**
   * What goes into `config.OnBuild`: the line without `ONBUILD`, with each
   * heredoc appended as `\n` + body + delimiter (as BuildKit stores it).
   */
  expression: string;
}

/**
 * `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=…] … CMD command`.
 * Durations are nanoseconds (Go `time.Duration`); 0 means "not set" (the
 * engine's default or the base image's value applies).
 */
export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** `NONE` disables a check inherited from the base image; flags are ignored then, as BuildKit does. */
  test: 'NONE' | 'CMD';
  /** Present for `CMD`: the config stores `["CMD", …]` (exec) or `["CMD-SHELL", script]` (shell). */
  command?: CommandForm;
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  /** 0 when not set. */
  retries: number;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | CopyLikeInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopsignalInstruction
  | MaintainerInstruction
  | OnbuildInstruction
  | HealthcheckInstruction;

export type InstructionKind = Instruction['kind'];

/** `# key=value` lines at the very top of the file. */
export interface Directive {
  /** Lower-cased: `syntax`, `escape` or `check`. */
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
