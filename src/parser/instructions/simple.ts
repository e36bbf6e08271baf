/**
 * The instructions whose arguments are just words: ARG, WORKDIR, USER,
 * EXPOSE, VOLUME, STOPSIGNAL and MAINTAINER. None takes a flag.
 */
import type {
  ArgInstruction,
  ExposeInstruction,
  MaintainerInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  Word,
  WorkdirInstruction,
} from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { isSpace } from '../words.ts';
import { base, errorAt, missingArguments, nameOf } from './common.ts';
import { readFlags } from './flags.ts';

const wordsOf = (node: SyntaxNode): Word[] => (node.args.kind === 'words' ? node.args.words : []);

/** The single argument of an instruction that takes the rest of the line as one string. */
function exactlyOne(node: SyntaxNode, example: string): Word {
  readFlags(node, {}, nameOf(node));
  const [word, ...more] = wordsOf(node);
  if (!word || more.length > 0) throw missingArguments(node, 'exactly one argument', `write ${example}`);
  return word;
}

/** `ARG a b=1 c=`: quote-aware words, each split at its first `=`. */
export function buildArg(node: SyntaxNode): ArgInstruction {
  readFlags(node, {}, 'ARG');
  const words = wordsOf(node);
  if (words.length === 0) throw missingArguments(node, 'at least one argument', 'write ARG name or ARG name=default');
  const { line } = node.rest;
  const args = words.map((word) => {
    const eq = word.value.indexOf('=');
    if (eq === -1) return { name: word };
    if (eq === 0) throw errorAt(node, 'ARG names can not be blank', word.range, { hint: 'write ARG name=default' });
    const start = line.logicalIndex(word.range.start.offset);
    return { name: line.word(start, start + eq), defaultValue: line.word(start + eq + 1, start + word.value.length) };
  });
  return { kind: 'ARG', ...base(node), args };
}

/** The whole rest of the line is the path, spaces included. */
export function buildWorkdir(node: SyntaxNode): WorkdirInstruction {
  return { kind: 'WORKDIR', ...base(node), path: exactlyOne(node, 'WORKDIR /path') };
}

/** The whole rest of the line is the user spec (`user[:group]`). */
export function buildUser(node: SyntaxNode): UserInstruction {
  return { kind: 'USER', ...base(node), user: exactlyOne(node, 'USER name[:group]') };
}

/** The whole rest of the line is the signal. */
export function buildStopsignal(node: SyntaxNode): StopsignalInstruction {
  return { kind: 'STOPSIGNAL', ...base(node), signal: exactlyOne(node, 'STOPSIGNAL SIGTERM') };
}

/** The whole rest of the line is the author. */
export function buildMaintainer(node: SyntaxNode): MaintainerInstruction {
  return { kind: 'MAINTAINER', ...base(node), maintainer: exactlyOne(node, 'LABEL org.opencontainers.image.authors="…" instead') };
}

/** One word per port spec, split on blanks. */
export function buildExpose(node: SyntaxNode): ExposeInstruction {
  readFlags(node, {}, 'EXPOSE');
  const ports = wordsOf(node);
  if (ports.length === 0) throw missingArguments(node, 'at least one argument', 'write EXPOSE 80 or EXPOSE 53/udp');
  return { kind: 'EXPOSE', ...base(node), ports };
}

/** JSON array or blank-separated paths; each is trimmed and must not be empty. */
export function buildVolume(node: SyntaxNode): VolumeInstruction {
  readFlags(node, {}, 'VOLUME');
  const words = wordsOf(node);
  if (words.length === 0) throw missingArguments(node, 'at least one argument', 'write VOLUME /data or VOLUME ["/data"]');
  const paths = words.map((word) => {
    let start = 0;
    let end = word.value.length;
    while (start < end && isSpace(word.value[start])) start++;
    while (end > start && isSpace(word.value[end - 1])) end--;
    if (start === end) throw errorAt(node, 'VOLUME specified can not be an empty string', word.range);
    return { value: word.value.slice(start, end), range: word.range };
  });
  return { kind: 'VOLUME', ...base(node), form: node.args.kind === 'words' && node.args.json ? 'json' : 'shell', paths };
}
