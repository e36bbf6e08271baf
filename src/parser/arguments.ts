/**
 * How each instruction's argument text is cut into argument nodes at parse
 * time, per keyword, as BuildKit's line parsers do: JSON arrays, blank-split
 * words, quote-aware words, key/value pairs or one whole string. No
 * validation beyond what BuildKit's parser itself rejects.
 */
import type { KeyValue, Word } from './ast.ts';
import { isSplitBlank, parseJsonArray, spanWord, splitOnBlanks, splitQuoteAware, wholeWord, isSpace, type ArgText } from './words.ts';

/** The argument nodes of one instruction. */
export type SyntaxArgs =
  /** Words in order; `json` when they came from a JSON array. */
  | { kind: 'words'; words: Word[]; json: boolean }
  /** ENV and LABEL; `legacy` for the `KEY name value` form. */
  | { kind: 'pairs'; pairs: KeyValue[]; legacy: boolean }
  /** HEALTHCHECK: the type word (`CMD`, `NONE`…), then the command like CMD's. */
  | { kind: 'healthcheck'; type: Word | undefined; command: Word[]; json: boolean }
  /** A keyword BuildKit does not know: its arguments are ignored. */
  | { kind: 'ignored' };

const NONE: SyntaxArgs = { kind: 'words', words: [], json: false };

const words = (list: Word[], json = false): SyntaxArgs => ({ kind: 'words', words: list, json });

/** `keyword` lower-cased; ONBUILD is handled by the caller, which nests a whole instruction. */
export function parseArguments(keyword: string, rest: ArgText): SyntaxArgs {
  const empty = rest.start >= rest.end;
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume': {
      const json = parseJsonArray(rest);
      return json ? words(json, true) : words(splitOnBlanks(rest).map((s) => spanWord(rest, s)));
    }
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return empty ? NONE : maybeJson(rest);
    case 'arg':
      return words(splitQuoteAware(rest).map((s) => spanWord(rest, s)));
    case 'env':
    case 'label':
      return keyValues(keyword.toUpperCase(), rest);
    case 'expose':
    case 'from':
      return words(splitOnBlanks(rest).map((s) => spanWord(rest, s)));
    case 'healthcheck':
      return healthcheck(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return empty ? NONE : words([wholeWord(rest)]);
    default:
      return { kind: 'ignored' };
  }
}

/** A JSON array of strings, else the whole text as one word. */
function maybeJson(rest: ArgText): SyntaxArgs {
  const json = parseJsonArray(rest);
  return json ? words(json, true) : words([wholeWord(rest)]);
}

/** HEALTHCHECK: the first word, then CMD's rules for the rest. */
function healthcheck(rest: ArgText): SyntaxArgs {
  const { line } = rest;
  if (rest.start >= rest.end) return { kind: 'healthcheck', type: undefined, command: [], json: false };
  let sep = rest.start;
  while (sep < rest.end && !isSpace(line.text[sep])) sep++;
  let next = sep;
  while (next < rest.end && isSpace(line.text[next])) next++;
  const commandText = { ...rest, start: next };
  const command = next >= rest.end ? NONE : maybeJson(commandText);
  const commandWords = command.kind === 'words' ? command : { words: [], json: false };
  return { kind: 'healthcheck', type: line.word(rest.start, sep), command: commandWords.words, json: commandWords.json };
}

/**
 * ENV and LABEL. The first quote-aware word decides the form: without `=`
 * it is the legacy `KEY name rest of line` (split at the first blank run);
 * otherwise every word must be `k=v`. Values keep their quotes and escapes.
 */
function keyValues(name: string, rest: ArgText): SyntaxArgs {
  const { line } = rest;
  const spans = splitQuoteAware(rest);
  const first = spans[0];
  if (!first) return { kind: 'pairs', pairs: [], legacy: false };
  if (!line.text.slice(first.start, first.end).includes('=')) {
    let keyEnd = rest.start;
    while (keyEnd < rest.end && !isSplitBlank(line.text[keyEnd])) keyEnd++;
    let valueStart = keyEnd;
    while (valueStart < rest.end && isSplitBlank(line.text[valueStart])) valueStart++;
    if (valueStart === keyEnd) {
      throw line.error(`${name} must have two arguments`, rest.start, {
        width: rest.end - rest.start,
        hint: `write ${name} key=value (or the legacy ${name} key value)`,
      });
    }
    return {
      kind: 'pairs',
      pairs: [{ key: line.word(rest.start, keyEnd), value: line.word(valueStart, rest.end) }],
      legacy: true,
    };
  }
  const pairs = spans.map((span): KeyValue => {
    const text = line.text.slice(span.start, span.end);
    const eq = text.indexOf('=');
    if (eq === -1) {
      throw line.error(`can't find = in ${JSON.stringify(text)}, must be of the form: name=value`, span.start, {
        width: span.end - span.start,
        hint: 'quote values with blanks: key="a b"',
      });
    }
    return { key: line.word(span.start, span.start + eq), value: line.word(span.start + eq + 1, span.end) };
  });
  return { kind: 'pairs', pairs, legacy: false };
}
