/**
 * A readable outline of a parsed Dockerfile, for `tsbuild parse`: one line
 * per instruction with its location and what the parser made of it, plus
 * indented lines for heredocs and mounts.
 */
import type { CommandForm, Dockerfile, Heredoc, Instruction, KeyValue, Word } from './ast.ts';

const MAX_TEXT = 100;

/** `text` on one line: line breaks shown as `⏎`, cut to MAX_TEXT characters. */
function oneLine(text: string): string {
  const flat = text.replace(/\r?\n/g, '⏎');
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}

const words = (list: readonly Word[]): string => list.map((w) => w.value).join(' ');
const pairs = (list: readonly KeyValue[]): string => list.map((p) => `${p.key.value}=${p.value.value}`).join(' ');
const json = (list: readonly Word[]): string => JSON.stringify(list.map((w) => w.value));
const command = (c: CommandForm): string => (c.form === 'exec' ? json(c.args) : c.script.value);

function summary(ins: Instruction): string {
  switch (ins.kind) {
    case 'FROM':
      return `${ins.image.value}${ins.stageName ? ` AS ${ins.stageName.value}` : ''}`;
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return `${ins.command.form}: ${command(ins.command)}`;
    case 'SHELL':
      return json(ins.shell);
    case 'COPY':
    case 'ADD':
      return `${ins.form === 'json' ? json(ins.sources) : words(ins.sources)} → ${ins.dest.value}`;
    case 'ENV':
    case 'LABEL':
      return `${pairs(ins.pairs)}${ins.legacy ? '  (legacy form)' : ''}`;
    case 'ARG':
      return ins.args.map((a) => (a.defaultValue ? `${a.name.value}=${a.defaultValue.value}` : a.name.value)).join(' ');
    case 'WORKDIR':
      return ins.path.value;
    case 'USER':
      return ins.user.value;
    case 'EXPOSE':
      return words(ins.ports);
    case 'VOLUME':
      return words(ins.paths);
    case 'STOPSIGNAL':
      return ins.signal.value;
    case 'MAINTAINER':
      return ins.maintainer.value;
    case 'ONBUILD':
      return `${ins.trigger.kind} ${summary(ins.trigger)}`;
    case 'HEALTHCHECK':
      return ins.command ? `CMD ${ins.command.form}: ${command(ins.command)}` : 'NONE';
  }
}

function heredocLine(h: Heredoc): string {
  const lines = h.content === '' ? 0 : h.content.split('\n').length - (h.content.endsWith('\n') ? 1 : 0);
  const traits = [`${lines} line${lines === 1 ? '' : 's'}`, h.expand ? 'expands $vars' : 'literal'];
  if (h.chomp) traits.push('tabs stripped');
  if (h.fd !== 0) traits.push(`fd ${h.fd}`);
  return `<<${h.name}  (${traits.join(', ')})`;
}

/** The indented lines under an instruction: heredocs and mounts. */
function details(ins: Instruction): string[] {
  switch (ins.kind) {
    case 'RUN':
      return [
        ...ins.mounts.map((m) => `mount ${m.type}${m.target === undefined ? '' : ` → ${m.target}`}  (${m.spec.value})`),
        ...ins.heredocs.map(heredocLine),
      ];
    case 'COPY':
    case 'ADD':
      return ins.heredocs.map(heredocLine);
    case 'ONBUILD':
      return details(ins.trigger);
    default:
      return [];
  }
}

/** The outline text, ending with a newline. */
export function outlineDockerfile(df: Dockerfile): string {
  const header = [`escape ${df.escapeChar}`, ...df.directives.map((d) => `${d.name}=${d.value}`)].join(', ');
  const out = [`${df.file}: ${df.instructions.length} instruction${df.instructions.length === 1 ? '' : 's'} (${header})`];
  for (const ins of df.instructions) {
    const where = `${ins.range.start.line}:${ins.range.start.column}`.padEnd(8);
    const flags = ins.flags.map((f) => `--${f.name}${f.value === undefined ? '' : `=${f.value}`}`).join(' ');
    out.push(`  ${where}${ins.kind} ${oneLine(summary(ins))}${flags ? `  [${oneLine(flags)}]` : ''}`);
    for (const line of details(ins)) out.push(`  ${' '.repeat(8)}  ${oneLine(line)}`);
  }
  return `${out.join('\n')}\n`;
}
