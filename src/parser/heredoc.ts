/**
 * Here-documents: finding `<<EOF` words in an instruction line, and reading
 * their bodies from the lines after it, as BuildKit's parser does.
 */
import type { Heredoc } from './ast.ts';
import type { SourceText } from './source.ts';
import { UserError } from '../errors.ts';
import { expandWords, type LexOptions } from '../shell/expand.ts';

/** What a `<<…` word says about its heredoc; the body comes later. */
export interface HeredocWord {
  name: string;
  expand: boolean;
  chomp: boolean;
  fd: number;
  /** The word as it appears in the line (quotes and escapes kept), to locate it. */
  written: string;
}

const NO_ENV: ReadonlyMap<string, string> = new Map();
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
/** Go regexp's `\s`. */
const isGoSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';

/**
 * Reads one shell word as a heredoc start: `[n]<<[-][blanks]delimiter`
 * (BuildKit's `^(\d*)<<(-?)\s*([^<]*)$`, by hand: the regex backtracks
 * quadratically in JavaScript). The delimiter must be a single shell word;
 * its quotes are removed for the name, and any quoting turns expansion off.
 * Heredocs are read with `\` as the escape char whatever `# escape=` says,
 * like BuildKit. Returns undefined for a word that is not a heredoc start.
 *
 * Throws a UserError (without location) for an unterminated quote in the
 * delimiter.
 */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  let i = 0;
  while (isDigit(word[i])) i++;
  const digits = word.slice(0, i);
  if (word[i] !== '<' || word[i + 1] !== '<') return undefined;
  i += 2;
  const chomp = word[i] === '-';
  if (chomp) i++;
  while (isGoSpace(word[i])) i++;
  const rest = word.slice(i);
  if (rest === '' || rest.includes('<')) return undefined;
  const words = expandWords(rest, NO_ENV, '\\', { keepUnset: true });
  if (words.length !== 1) return undefined;
  const raw = expandWords(rest, NO_ENV, '\\', { keepUnset: true, rawQuotes: true });
  if (raw.length !== 1) throw new UserError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const name = words[0] ?? '';
  const expand = countQuotes(name) === countQuotes(raw[0] ?? '');
  const fd = digits === '' ? 0 : Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
  return { name, expand, chomp, fd, written: word };
}

const countQuotes = (s: string): number => {
  let n = 0;
  for (const c of s) if (c === '"' || c === "'") n++;
  return n;
};

const LINE_LEXING: LexOptions = { rawQuotes: true, rawEscapes: true, keepUnset: true };

/**
 * The heredoc starts in an instruction line, in order: the line is cut into
 * shell words with quotes and escapes kept (so `'<<EOF'` is not one), and
 * each word is tried with `parseHeredocWord`. A line the shell lexer cannot
 * read (an unterminated quote) has none. `<<- EOF` counts as one word.
 */
export function heredocWordsInLine(line: string): HeredocWord[] {
  let words: string[];
  try {
    words = expandWords(line, NO_ENV, '\\', LINE_LEXING);
  } catch (e) {
    if (e instanceof UserError) return [];
    throw e;
  }
  const found: HeredocWord[] = [];
  for (let k = 0; k < words.length; k++) {
    let word = words[k] ?? '';
    if (!word.includes('<<')) continue;
    // BuildKit's lexer glues the blanks after `<<` to the word but not those
    // after `<<-`, so it finds no heredoc in `RUN <<- EOF`, although its
    // tests list that line as one. We do what the tests say.
    const next = words[k + 1];
    if (/^\d*<<-$/.test(word) && next !== undefined) {
      word = `${word} ${next}`;
      k++;
    }
    const heredoc = parseHeredocWord(word);
    if (heredoc) found.push(heredoc);
  }
  return found;
}

/** `<<-`: removes the leading tabs of every line. */
export function chompHeredoc(content: string): string {
  return content
    .split('\n')
    .map((line) => line.replace(/^\t+/, ''))
    .join('\n');
}

/** The heredoc bodies read after an instruction, and where the next instruction may start. */
export interface HeredocBodies {
  heredocs: Heredoc[];
  /** Offset just past the last delimiter line. */
  end: number;
}

/** What to report when a body never ends: the delimiter's word and where it is in the source. */
export type UnterminatedReport = (word: HeredocWord) => UserError;

/**
 * Reads one body per heredoc word, in order, starting at `start` (the first
 * line after the instruction). A body runs up to a line equal to its name,
 * line break and (for `<<-`) leading tabs ignored; the delimiter line is not
 * part of it. Throws the report's error when the text ends first.
 */
export function readHeredocBodies(
  source: SourceText,
  start: number,
  words: readonly HeredocWord[],
  unterminated: UnterminatedReport,
): HeredocBodies {
  const { text } = source;
  const heredocs: Heredoc[] = [];
  let pos = start;
  for (const word of words) {
    const bodyStart = pos;
    let found = false;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const next = nl === -1 ? text.length : nl + 1;
      let lineEnd = next;
      while (lineEnd > pos && (text[lineEnd - 1] === '\n' || text[lineEnd - 1] === '\r')) lineEnd--;
      let lineStart = pos;
      if (word.chomp) while (lineStart < lineEnd && text[lineStart] === '\t') lineStart++;
      if (lineEnd - lineStart === word.name.length && text.startsWith(word.name, lineStart)) {
        const rawContent = text.slice(bodyStart, pos);
        heredocs.push({
          name: word.name,
          content: word.chomp ? chompHeredoc(rawContent) : rawContent,
          rawContent,
          expand: word.expand,
          chomp: word.chomp,
          fd: word.fd,
          range: source.range(bodyStart, lineEnd),
        });
        pos = next;
        found = true;
        break;
      }
      pos = next;
    }
    if (!found) throw unterminated(word);
  }
  return { heredocs, end: pos };
}
