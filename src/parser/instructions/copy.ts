/**
 * COPY and ADD: sources then destination, as words or as a JSON array;
 * `<<EOF` sources are inline files whose content is a heredoc.
 */
import type { CopyLikeInstruction, Heredoc, Word } from '../ast.ts';
import { parseHeredocWord } from '../heredoc.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments, nameOf } from './common.ts';
import { readFlags, type FlagSpec } from './flags.ts';

const COPY_FLAGS: FlagSpec = { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' };
const ADD_FLAGS: FlagSpec = {
  chown: 'string',
  chmod: 'string',
  link: 'bool',
  'keep-git-dir': 'bool',
  checksum: 'string',
  unpack: 'bool',
  exclude: 'list',
};

/** A heredoc word, ignoring the delimiter errors the parser already reported. */
function heredocIn(word: Word): ReturnType<typeof parseHeredocWord> {
  try {
    return parseHeredocWord(word.value);
  } catch {
    return undefined;
  }
}

/**
 * Shell-form words are split on blanks only, without quote processing: that
 * is BuildKit's behaviour (paths with spaces need the JSON form). A source
 * that reads as a heredoc start takes the body of the heredoc of that name
 * (empty when there is none, as in BuildKit); the destination cannot be one.
 */
export function buildCopyLike(kind: 'COPY' | 'ADD', node: SyntaxNode): CopyLikeInstruction {
  const args = node.args.kind === 'words' ? node.args : { words: [], json: false };
  const dest = args.words.at(-1);
  if (args.words.length < 2 || !dest) {
    throw missingArguments(node, 'at least two arguments', `sources then a destination: ${kind} src... dest`);
  }
  const flags = readFlags(node, kind === 'COPY' ? COPY_FLAGS : ADD_FLAGS, kind);
  if (heredocIn(dest)) throw errorAt(node, `${nameOf(node)} cannot accept a heredoc as a destination`, dest.range);
  const sources = args.words.slice(0, -1);
  const paths: Word[] = [];
  const heredocs: Heredoc[] = [];
  for (const source of sources) {
    const word = heredocIn(source);
    if (!word) {
      paths.push(source);
      continue;
    }
    const body = node.heredocs.find((h) => h.name === word.name);
    heredocs.push(
      body ?? { name: word.name, content: '', rawContent: '', expand: word.expand, chomp: word.chomp, fd: word.fd, range: source.range },
    );
  }
  const bool = (name: string): boolean | undefined => flags.bools.get(name);
  const from = flags.strings.get('from');
  const chown = flags.strings.get('chown');
  const chmod = flags.strings.get('chmod');
  const checksum = flags.strings.get('checksum');
  const keepGitDir = bool('keep-git-dir');
  const unpack = bool('unpack');
  return {
    kind,
    ...base(node),
    form: args.json ? 'json' : 'shell',
    sources,
    dest,
    paths,
    heredocs,
    ...(from && { from }),
    ...(chown && { chown }),
    ...(chmod && { chmod }),
    link: bool('link') ?? false,
    parents: bool('parents') ?? false,
    exclude: flags.lists.get('exclude') ?? [],
    ...(checksum && { checksum }),
    ...(keepGitDir !== undefined && { keepGitDir }),
    ...(unpack !== undefined && { unpack }),
  };
}
