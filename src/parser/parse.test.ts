/**
 * Parser tests: hand-written cases for positions, continuations, directives,
 * every instruction's typed node and the flags it takes. BuildKit's vectors
 * are in conformance.test.ts, error display in diagnostics.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { expandWord } from '../shell/expand.ts';
import type { Dockerfile, Instruction, InstructionKind, Range, Word } from './ast.ts';
import { dumpSyntax } from './dump.ts';
import { parseMount } from './instructions/mount.ts';
import { parseDockerfile } from './parse.ts';
import { parseSyntax } from './syntax.ts';

const fixtures = new URL('../../fixtures/parser/', import.meta.url);
const readFixture = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');

const parse = (text: string): Dockerfile => parseDockerfile(text, 'Dockerfile');
const dump = (text: string): string => dumpSyntax(parseSyntax(text, 'Dockerfile'));

function only<K extends InstructionKind>(text: string, kind: K, index = 0): Instruction & { kind: K } {
  const instruction = parse(text).instructions[index];
  assert.equal(instruction?.kind, kind);
  return instruction as Instruction & { kind: K };
}

/** [startLine, startColumn, endLine, endColumn] */
const span = (r: Range): number[] => [r.start.line, r.start.column, r.end.line, r.end.column];
const values = (words: readonly Word[]): string[] => words.map((w) => w.value);

function expectError(text: string, message: string | RegExp, line: number, column: number): void {
  assert.throws(
    () => parse(text),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      assert.deepEqual(e.location, { file: 'Dockerfile', line, column });
      return true;
    },
  );
}

describe('positions', () => {
  it('gives every instruction, word and flag a 1-based range and offsets', () => {
    const text = 'FROM alpine\n  COPY --from=build a /b\n';
    const [from, copy] = parse(text).instructions;
    assert.deepEqual(from?.range, { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 12, offset: 11 } });
    assert.equal(copy?.kind, 'COPY');
    if (copy?.kind !== 'COPY') return;
    assert.deepEqual(span(copy.range), [2, 3, 2, 25]);
    assert.deepEqual(span(copy.keyword.range), [2, 3, 2, 7]);
    assert.deepEqual(copy.flags, [
      {
        name: 'from',
        value: 'build',
        range: { start: { line: 2, column: 8, offset: 19 }, end: { line: 2, column: 20, offset: 31 } },
        valueRange: { start: { line: 2, column: 15, offset: 26 }, end: { line: 2, column: 20, offset: 31 } },
      },
    ]);
    assert.deepEqual(copy.from && span(copy.from.range), [2, 15, 2, 20]);
    assert.deepEqual(span(copy.sources[0]!.range), [2, 21, 2, 22]);
    assert.equal(text.slice(copy.dest.range.start.offset, copy.dest.range.end.offset), '/b');
  });

  it('points words on continuation lines at those lines', () => {
    const env = only('ENV A=1 \\\n    B=2\n', 'ENV');
    assert.deepEqual(span(env.range), [1, 1, 2, 8]);
    assert.deepEqual(span(env.pairs[1]!.key.range), [2, 5, 2, 6]);
    assert.deepEqual(span(env.pairs[1]!.value.range), [2, 7, 2, 8]);
  });

  it('gives a word split by a continuation a range across both lines', () => {
    const run = only('RUN echo he\\\nllo\n', 'RUN');
    assert.equal(run.command.form, 'shell');
    if (run.command.form !== 'shell') return;
    assert.equal(run.command.script.value, 'echo hello');
    assert.deepEqual(span(run.command.script.range), [1, 5, 2, 4]);
  });

  it('gives JSON strings the range of their literal', () => {
    const cmd = only('CMD [ "a",  "b c" ]', 'CMD');
    assert.equal(cmd.command.form, 'exec');
    if (cmd.command.form !== 'exec') return;
    assert.deepEqual(values(cmd.command.args), ['a', 'b c']);
    assert.deepEqual(cmd.command.args.map((w) => span(w.range)), [[1, 7, 1, 10], [1, 13, 1, 18]]);
  });

  it('handles CRLF line endings and a BOM (columns on line 1 ignore the BOM)', () => {
    const text = readFixture('crlf-bom.Dockerfile');
    const df = parseDockerfile(text, 'crlf-bom.Dockerfile');
    assert.deepEqual(df.directives.map((d) => [d.name, d.value, span(d.range)]), [['syntax', 'docker/dockerfile:1', [1, 1, 1, 29]]]);
    assert.deepEqual(dumpSyntax(parseSyntax(text, 'x')).split('\n'), ['(from "alpine" "AS" "base")', '(run "echo a   && echo b")', '(env "K" "v" "=")']);
    const run = df.instructions[1];
    assert.deepEqual(run && span(run.range), [3, 1, 4, 12]);
  });

  it('gives ARG names and defaults their own ranges', () => {
    const arg = only('ARG A=1 \\\n  LONG=x', 'ARG');
    assert.deepEqual(arg.args.map((a) => [span(a.name.range), a.defaultValue && span(a.defaultValue.range)]), [
      [[1, 5, 1, 6], [1, 7, 1, 8]],
      [[2, 3, 2, 7], [2, 8, 2, 9]],
    ]);
  });
});

describe('lines, comments and continuations', () => {
  it('treats keywords case-insensitively and keeps them as written', () => {
    const from = only('fRoM alpine', 'FROM');
    assert.equal(from.keyword.value, 'fRoM');
  });

  it('drops comment lines, even inside a continued instruction', () => {
    const df = parse('  # leading comment\nRUN a \\\n  # inside\n\n  b # not a comment\n# end\n');
    assert.equal(df.instructions.length, 1);
    assert.equal(dump('RUN a \\\n  # inside\n\n  b # not a comment\n'), '(run "a   b # not a comment")');
    assert.deepEqual(span(df.instructions[0]!.range), [2, 1, 5, 20]);
  });

  it('joins continuation lines with no separator, keeping their indentation', () => {
    assert.equal(dump('RUN a\\\n  b\\\nc'), '(run "a  bc")');
  });

  it('accepts a continuation at end of file and a lone continuation line', () => {
    assert.equal(dump('FROM a\nRUN b \\'), '(from "a")\n(run "b")');
    assert.equal(dump('RUN a \\\n  \\\n  b'), '(run "a     b")');
  });

  it('does not continue after a doubled escape char, nor with blanks after a carriage return', () => {
    assert.equal(dump('RUN a\\\\\nRUN b'), '(run "a\\\\\\\\")\n(run "b")');
    assert.equal(dump('RUN a \\\r \nRUN b'), '(run "a \\\\")\n(run "b")');
    assert.equal(dump('RUN a \\ \r\nb'), '(run "a b")');
  });

  it('skips Unicode blanks before comments and keywords, as Go trims them', () => {
    assert.equal(dump('\u00a0# comment\n\u2003RUN a'), '(run "a")');
  });

  it('reads the multi-stage fixture', () => {
    const text = readFixture('multi-stage.Dockerfile');
    const df = parseDockerfile(text, 'multi-stage.Dockerfile');
    assert.deepEqual(df.directives.map((d) => d.name), ['check']);
    assert.equal(
      dumpSyntax(parseSyntax(text, 'x')),
      [
        '(arg "BASE=alpine:3.20" "EXTRA")',
        '(from ["--platform=$BUILDPLATFORM"] "${BASE}" "AS" "build")',
        '(workdir "/src")',
        '(copy ["--chown=1000:1000" "--chmod=0755"] "a b.txt" "./")',
        '(run ["--mount=type=cache,target=/root/.cache"] "make build")',
        '(label "org.opencontainers.image.title" "\\"tsbuild demo\\"" "=" "version" "1" "=")',
        '(from "scratch")',
        '(copy ["--from=build"] "/src/out" "/bin/app")',
        '(user "1000:1000")',
        '(expose "8080/tcp" "9090")',
        '(entrypoint "/bin/app")',
        '(cmd "--help")',
      ].join('\n'),
    );
    const arg = df.instructions[0];
    assert.equal(arg?.kind, 'ARG');
    if (arg?.kind !== 'ARG') return;
    assert.deepEqual(arg.args.map((a) => [a.name.value, a.defaultValue?.value]), [['BASE', 'alpine:3.20'], ['EXTRA', undefined]]);
    assert.deepEqual(span(arg.args[1]!.name.range), [3, 5, 3, 10]);
  });
});

describe('directives', () => {
  it('reads escape, syntax and check with case-insensitive keys', () => {
    const text = '# SYNTAX = docker/dockerfile:1\n#Escape=`\n# check=error=true\nFROM a\nRUN echo \\ `\n  b';
    const df = parse(text);
    assert.deepEqual(df.directives.map((d) => [d.name, d.value]), [['syntax', 'docker/dockerfile:1'], ['escape', '`'], ['check', 'error=true']]);
    assert.equal(df.escapeChar, '`');
    assert.equal(dump(text), '(from "a")\n(run "echo \\\\   b")');
  });

  it('stops at the first line that is not a directive', () => {
    const df = parse('# syntax=x\n# hello\n# escape=`\nFROM a');
    assert.deepEqual(df.directives.map((d) => d.name), ['syntax']);
    assert.equal(df.escapeChar, '\\');
    assert.equal(parse('\n# escape=`\nFROM a').directives.length, 0);
    assert.equal(parse('# unknown=1\n# escape=`\nFROM a').escapeChar, '\\');
  });

  it('allows blanks around the key and trims the value', () => {
    const df = parse('  #   syntax   =   a b  \t\nFROM x');
    assert.deepEqual(df.directives.map((d) => [d.name, d.value, span(d.range)]), [['syntax', 'a b', [1, 3, 1, 23]]]);
  });

  it('rejects a repeated directive and a bad escape', () => {
    expectError('# escape=`\n# ESCAPE=\\\nFROM a', 'only one escape parser directive can be used', 2, 1);
    expectError('# escape=x\nFROM a', /invalid escape token 'x'/, 1, 1);
  });
});

describe('command forms', () => {
  it('reads the exec form as decoded JSON strings', () => {
    const run = only('RUN ["echo", "a\\"b", "\\u00e9"]', 'RUN');
    assert.deepEqual(run.command.form === 'exec' && values(run.command.args), ['echo', 'a"b', 'é']);
  });

  it('falls back to the shell form on invalid JSON', () => {
    const cmd = only("CMD ['echo', 'x']", 'CMD');
    assert.deepEqual(cmd.command.form === 'shell' && cmd.command.script.value, "['echo', 'x']");
    const entrypoint = only('ENTRYPOINT ["a", "b"', 'ENTRYPOINT');
    assert.equal(entrypoint.command.form, 'shell');
  });

  it('rejects a JSON array holding a non-string', () => {
    expectError('FROM a\nCMD [ "echo", [ "x" ] ]', 'when using JSON array syntax, arrays must be comprised of strings only', 2, 5);
    expectError('COPY ["a", 1]', /arrays must be comprised of strings only/, 1, 6);
  });

  it('reads CMD [] as an empty exec form and a bare CMD as an empty script', () => {
    assert.deepEqual(only('CMD []', 'CMD').command, { form: 'exec', args: [] });
    const bare = only('CMD', 'CMD').command;
    assert.equal(bare.form === 'shell' && bare.script.value, '');
  });

  it('reads SHELL in JSON form only', () => {
    assert.deepEqual(values(only('SHELL ["/bin/bash", "-eo", "pipefail", "-c"]', 'SHELL').shell), ['/bin/bash', '-eo', 'pipefail', '-c']);
    expectError('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form', 1, 7);
    expectError('SHELL', 'SHELL requires at least one argument', 1, 1);
  });
});

describe('RUN', () => {
  it('reads network and security modes, defaulting them', () => {
    const plain = only('RUN true', 'RUN');
    assert.deepEqual([plain.network, plain.security, plain.mounts], ['default', 'sandbox', []]);
    const run = only('RUN --network=none --security=insecure true', 'RUN');
    assert.deepEqual([run.network, run.security], ['none', 'insecure']);
    expectError('RUN --network=bridge true', 'invalid network mode "bridge"', 1, 15);
    expectError('RUN --security=strict true', 'security "strict" is not valid', 1, 16);
  });

  it('reads mounts of all five types with their options', () => {
    const run = only(
      [
        'RUN --mount=target=/src,source=.,from=build,rw \\',
        '    --mount=type=cache,id=go,target=/root/.cache,sharing=locked,mode=0700,uid=1000,gid=1000 \\',
        '    --mount=type=tmpfs,target=/tmp,size=64m \\',
        '    --mount=type=secret,id=token,env=TOKEN,required \\',
        '    --mount=type=ssh,id=default,target=/agent,required=false,mode=0600 \\',
        '    make',
      ].join('\n'),
      'RUN',
    );
    const [bind, cache, tmpfs, secret, ssh] = run.mounts.map(({ spec, ...rest }) => rest);
    assert.deepEqual(bind, { type: 'bind', target: '/src', source: '.', from: 'build', readOnly: false, required: false, deferred: [] });
    assert.deepEqual(cache, {
      type: 'cache', id: 'go', target: '/root/.cache', sharing: 'locked', mode: 0o700, uid: 1000, gid: 1000,
      readOnly: false, required: false, deferred: [],
    });
    assert.deepEqual(tmpfs, { type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024, readOnly: false, required: false, deferred: [] });
    assert.deepEqual(secret, { type: 'secret', id: 'token', env: 'TOKEN', readOnly: true, required: true, deferred: [] });
    assert.deepEqual(ssh, { type: 'ssh', id: 'default', target: '/agent', mode: 0o600, readOnly: true, required: false, deferred: [] });
    assert.equal(run.mounts[1]?.spec.value, 'type=cache,id=go,target=/root/.cache,sharing=locked,mode=0700,uid=1000,gid=1000');
  });

  it('keeps variables in string options and defers typed options that hold one', () => {
    const run = only('RUN --mount=type=cache,target=$HOME/.cache,id=${ID},uid=$UID true', 'RUN');
    const mount = run.mounts[0];
    assert.deepEqual(mount && [mount.type, mount.target, mount.id, mount.uid, mount.deferred], ['cache', '$HOME/.cache', '${ID}', undefined, ['uid']]);
    const typed = only('RUN --mount=type=$T,target=/x true', 'RUN').mounts[0];
    assert.deepEqual(typed && [typed.type, typed.deferred], ['bind', ['type']]);
  });

  it('re-reads a mount with an expander, checking what the variables hold', () => {
    const env = new Map([['D', '/cache'], ['U', '1000'], ['T', 'tmpfs'], ['BAD', 'nope']]);
    const expand = (v: string): string => expandWord(v, env);
    assert.deepEqual(parseMount('type=cache,target=$D,uid=$U', expand), {
      type: 'cache', target: '/cache', uid: 1000, readOnly: false, required: false, deferred: [],
    });
    assert.equal(parseMount('type=$T,target=/t', expand).type, 'tmpfs');
    assert.throws(() => parseMount('type=cache,target=/x,uid=$BAD', expand), /invalid value nope for uid/);
    assert.throws(() => parseMount('type="unterminated', expand), /failed to parse csv mounts/);
    assert.deepEqual(parseMount('"target=/a,b",type=bind', expand).target, '/a,b');
  });

  it('rejects bad mounts at the flag value', () => {
    expectError('RUN --mount=type=cahce,target=/x true', 'unsupported mount type "cahce"', 1, 13);
    expectError('RUN --mount=type=cache,targte=/x true', "unexpected key 'targte' in 'targte=/x'", 1, 13);
    expectError('RUN --mount=type=bind,target=/x,mode=0700 true', 'mode not allowed for "bind" type mounts', 1, 13);
    expectError('RUN --mount=type=cache,sharing=all,target=/x true', 'unsupported sharing value "all"', 1, 13);
    expectError('RUN --mount=type=secret,from=x,id=a true', 'secret mount should not have a from', 1, 13);
    expectError('RUN --mount=type=secret true', 'invalid secret mount. one of source, target required', 1, 13);
    expectError('RUN --mount=type=tmpfs,target=/t,size=big true', 'invalid value for size: big', 1, 13);
    expectError('RUN --mount=type=cache,target=/x,ro=maybe true', 'invalid value for ro: maybe', 1, 13);
    expectError('RUN --mount=type=cache,target=/x,uid=-1 true', 'invalid value -1 for uid', 1, 13);
    expectError('RUN --mount=type=cache,target=/x,required true', "unexpected key 'required' for mount type 'cache'", 1, 13);
    expectError('RUN --mount=type=bind,from=$STAGE,target=/x true', "'from' doesn't support variable expansion, define alias stage instead", 1, 13);
    expectError('RUN --mount=target=/x,nonsense true', "invalid field 'nonsense' must be a key=value pair", 1, 13);
  });

  it('needs a command', () => {
    expectError('RUN --network=none', 'RUN requires at least one argument', 1, 1);
  });
});

describe('COPY and ADD', () => {
  it('splits shell-form words on blanks and keeps quotes raw', () => {
    const copy = only('COPY --link a "b" /dst/', 'COPY');
    assert.equal(copy.form, 'shell');
    assert.deepEqual(values(copy.sources), ['a', '"b"']);
    assert.deepEqual(values(copy.paths), ['a', '"b"']);
    assert.equal(copy.dest.value, '/dst/');
    assert.equal(copy.link, true);
    assert.deepEqual(copy.flags.map((f) => [f.name, f.value]), [['link', undefined]]);
  });

  it('reads the JSON form', () => {
    const add = only('ADD ["a b", "/c d"]', 'ADD');
    assert.equal(add.form, 'json');
    assert.deepEqual([...values(add.sources), add.dest.value], ['a b', '/c d']);
  });

  it('reads every COPY flag', () => {
    const copy = only('COPY --from=build --chown=app:app --chmod=u=rwX --link=false --parents --exclude=*.md --exclude=.git ./a/ /dst/', 'COPY');
    assert.deepEqual(
      [copy.from?.value, copy.chown?.value, copy.chmod?.value, copy.link, copy.parents, values(copy.exclude)],
      ['build', 'app:app', 'u=rwX', false, true, ['*.md', '.git']],
    );
  });

  it('reads every ADD flag', () => {
    const add = only(
      'ADD --chown=1:2 --chmod=0644 --link --keep-git-dir=true --checksum=sha256:abc --unpack=false --exclude=x https://example.com/a.tgz /a',
      'ADD',
    );
    assert.deepEqual(
      [add.chown?.value, add.chmod?.value, add.link, add.keepGitDir, add.checksum?.value, add.unpack, values(add.exclude)],
      ['1:2', '0644', true, true, 'sha256:abc', false, ['x']],
    );
    assert.equal(only('ADD a b', 'ADD').keepGitDir, undefined);
    expectError('ADD --from=x a b', 'unknown flag: --from', 1, 5);
    expectError('ADD --parents a b', 'unknown flag: --parents', 1, 5);
  });

  it('de-quotes flag values and stops flags at --', () => {
    const copy = only('COPY --chown="a b" -- --x /d', 'COPY');
    assert.deepEqual(copy.flags.map((f) => [f.name, f.value]), [['chown', 'a b']]);
    assert.deepEqual(values(copy.sources), ['--x']);
  });

  it('needs a source and a destination', () => {
    expectError('FROM a\nCOPY x', 'COPY requires at least two arguments', 2, 1);
    expectError('ADD ["x"]', 'ADD requires at least two arguments', 1, 1);
  });
});

describe('ENV, LABEL and ARG', () => {
  it('reads k=v pairs with quotes and escapes kept raw', () => {
    const env = only('ENV a=b\\ c d="e f" g=', 'ENV');
    assert.deepEqual(env.pairs.map((p) => [p.key.value, p.value.value]), [['a', 'b\\ c'], ['d', '"e f"'], ['g', '']]);
    assert.equal(env.legacy, undefined);
  });

  it('reads the legacy form: the value is the rest of the line', () => {
    const env = only('ENV PATH  /a b  "c"', 'ENV');
    assert.equal(env.legacy, true);
    assert.deepEqual(env.pairs.map((p) => [p.key.value, p.value.value]), [['PATH', '/a b  "c"']]);
    assert.deepEqual(span(env.pairs[0]!.value.range), [1, 11, 1, 20]);
  });

  it('reads LABEL pairs', () => {
    const label = only('LABEL a="x y" "b c"=d', 'LABEL');
    assert.deepEqual(label.pairs.map((p) => [p.key.value, p.value.value]), [['a', '"x y"'], ['"b c"', 'd']]);
  });

  it('reads several ARG declarations', () => {
    const arg = only('ARG A B= C="x y"', 'ARG');
    assert.deepEqual(arg.args.map((a) => [a.name.value, a.defaultValue?.value]), [['A', undefined], ['B', ''], ['C', '"x y"']]);
  });

  it('rejects missing values and malformed pairs', () => {
    expectError('FROM busybox\n\nENV PATH', 'ENV must have two arguments', 3, 5);
    expectError('ENV', 'ENV requires at least one argument', 1, 1);
    expectError('ENV a=b c', 'can\'t find = in "c", must be of the form: name=value', 1, 9);
    expectError('LABEL =x', 'LABEL names can not be blank', 1, 7);
    expectError('ARG', 'ARG requires at least one argument', 1, 1);
    expectError('ARG =x', 'ARG names can not be blank', 1, 5);
    expectError('ENV --x=1 a=b', 'unknown flag: --x', 1, 5);
  });
});

describe('other instructions', () => {
  it('reads FROM with and without a stage name', () => {
    const from = only('FROM --platform=linux/arm64 img:1 as Build', 'FROM');
    assert.deepEqual([from.image.value, from.stageName?.value, from.platform?.value], ['img:1', 'Build', 'linux/arm64']);
    assert.equal(only('FROM img', 'FROM').stageName, undefined);
    expectError('FROM img AS 1st', /invalid name for build stage: "1st"/, 1, 13);
  });

  it('keeps the whole rest for WORKDIR, USER, STOPSIGNAL and MAINTAINER', () => {
    assert.equal(only('WORKDIR /a b/$X', 'WORKDIR').path.value, '/a b/$X');
    assert.equal(only('USER app:app', 'USER').user.value, 'app:app');
    assert.equal(only('STOPSIGNAL SIGRTMIN+3', 'STOPSIGNAL').signal.value, 'SIGRTMIN+3');
    assert.equal(only('MAINTAINER Jane Doe <jane@example.com>', 'MAINTAINER').maintainer.value, 'Jane Doe <jane@example.com>');
  });

  it('reads several EXPOSE ports', () => {
    assert.deepEqual(values(only('EXPOSE 80 443/udp  $P', 'EXPOSE').ports), ['80', '443/udp', '$P']);
  });

  it('reads VOLUME in both forms and refuses empty paths', () => {
    const json = only('VOLUME ["/a", " /b "]', 'VOLUME');
    assert.deepEqual([json.form, values(json.paths)], ['json', ['/a', '/b']]);
    const shell = only('VOLUME /a /b', 'VOLUME');
    assert.deepEqual([shell.form, values(shell.paths)], ['shell', ['/a', '/b']]);
    expectError('VOLUME [" "]', 'VOLUME specified can not be an empty string', 1, 9);
    expectError('VOLUME', 'VOLUME requires at least one argument', 1, 1);
  });

  it('reads HEALTHCHECK NONE and CMD with every option', () => {
    const none = only('HEALTHCHECK NONE', 'HEALTHCHECK');
    assert.deepEqual([none.test, none.command], ['NONE', undefined]);
    const check = only('HEALTHCHECK --interval=1m30s --timeout=3s --start-period=0.5s --start-interval=100ms --retries=5 CMD curl -f http://x/', 'HEALTHCHECK');
    assert.deepEqual(
      [check.test, check.interval, check.timeout, check.startPeriod, check.startInterval, check.retries],
      ['CMD', 90e9, 3e9, 5e8, 1e8, 5],
    );
    assert.deepEqual(check.command?.form === 'shell' && check.command.script.value, 'curl -f http://x/');
    const exec = only('HEALTHCHECK cmd ["/bin/check"]', 'HEALTHCHECK');
    assert.deepEqual(exec.command?.form === 'exec' && values(exec.command.args), ['/bin/check']);
  });

  it('rejects bad HEALTHCHECK options and types', () => {
    expectError('HEALTHCHECK --interval=5 CMD x', '--interval: time: missing unit in duration "5"', 1, 24);
    expectError('HEALTHCHECK --timeout=5y CMD x', '--timeout: time: unknown unit "y" in duration "5y"', 1, 23);
    expectError('HEALTHCHECK --timeout=abc CMD x', '--timeout: time: invalid duration "abc"', 1, 23);
    expectError('HEALTHCHECK --interval=10us CMD x', 'Interval "interval" cannot be less than 1ms', 1, 24);
    expectError('HEALTHCHECK --retries=-1 CMD x', '--retries cannot be negative (-1)', 1, 23);
    expectError('HEALTHCHECK --retries=many CMD x', '--retries: invalid number "many"', 1, 23);
    expectError('HEALTHCHECK --inteval=5s CMD x', 'unknown flag: --inteval', 1, 13);
    expectError('HEALTHCHECK CONNECT TCP 7000', 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)', 1, 13);
    expectError('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD', 1, 13);
    expectError('HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments', 1, 18);
    expectError('HEALTHCHECK', 'HEALTHCHECK requires at least one argument', 1, 1);
  });

  it('reads ONBUILD with its trigger checked like any instruction', () => {
    const onbuild = only('ONBUILD COPY --chown=1 . /app', 'ONBUILD');
    assert.equal(onbuild.trigger.kind, 'COPY');
    assert.equal(onbuild.trigger.kind === 'COPY' && onbuild.trigger.chown?.value, '1');
    assert.equal(onbuild.expression, 'COPY --chown=1 . /app');
    expectError('ONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 1, 9);
    expectError('ONBUILD FROM x', "FROM isn't allowed as an ONBUILD trigger", 1, 9);
    expectError('ONBUILD COPY --nope a b', 'unknown flag: --nope', 1, 14);
    expectError('ONBUILD', 'ONBUILD requires at least one argument', 1, 1);
  });

  it('reads a deep ONBUILD chain without exhausting the stack', () => {
    const text = `${'ONBUILD '.repeat(100_000)}RUN x`;
    assert.match(dump(text), /^\(onbuild \(onbuild /);
    expectError(text, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 1, 9);
  });
});

describe('heredocs', () => {
  it('gives RUN its heredocs: the script, or stdin of a named interpreter', () => {
    const [run, python] = parse('RUN <<EOF\necho $HOME\nEOF\nRUN python3 <<-"PY"\n\tprint(1)\n\tPY\n').instructions;
    assert.equal(run?.kind === 'RUN' && run.command.form === 'shell' && run.command.script.value, '<<EOF');
    assert.deepEqual(run?.kind === 'RUN' && run.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fd, span(h.range)]), [
      ['EOF', 'echo $HOME\n', true, false, 0, [2, 1, 3, 4]],
    ]);
    assert.deepEqual(python?.kind === 'RUN' && python.heredocs.map((h) => [h.name, h.content, h.rawContent, h.expand, h.chomp]), [
      ['PY', 'print(1)\n', '\tprint(1)\n', false, true],
    ]);
  });

  it('reads several heredocs per line, in order, with file descriptors', () => {
    const run = only('RUN cat <<A 3<<B\na\nA\nb\nB\nRUN next', 'RUN');
    assert.deepEqual(run.heredocs.map((h) => [h.name, h.content, h.fd]), [['A', 'a\n', 0], ['B', 'b\n', 3]]);
    assert.equal(parse('RUN cat <<A 3<<B\na\nA\nb\nB\nRUN next').instructions.length, 2);
  });

  it('makes COPY/ADD heredoc sources inline files', () => {
    const copy = only('COPY --chmod=755 <<run.sh <<-\'CONF\' lib/ /dst/\n#!/bin/sh\necho $X\nrun.sh\n\tk=v\n\tCONF\n', 'COPY');
    assert.deepEqual(values(copy.sources), ['<<run.sh', "<<-'CONF'", 'lib/']);
    assert.deepEqual(values(copy.paths), ['lib/']);
    assert.deepEqual(copy.heredocs.map((h) => [h.name, h.content, h.expand]), [['run.sh', '#!/bin/sh\necho $X\n', true], ['CONF', 'k=v\n', false]]);
    expectError('COPY a <<EOF\nx\nEOF\n', 'COPY cannot accept a heredoc as a destination', 1, 8);
  });

  it('keeps heredoc bodies out of the instruction list, even lines that look like instructions', () => {
    const df = parse('FROM a\nRUN <<EOF\nFROM b\n# not a comment\n  \\\nEOF\nCMD x');
    assert.deepEqual(df.instructions.map((i) => i.kind), ['FROM', 'RUN', 'CMD']);
    const run = df.instructions[1];
    assert.equal(run?.kind === 'RUN' && run.heredocs[0]?.content, 'FROM b\n# not a comment\n  \\\n');
  });

  it('reads heredocs under ONBUILD, and none in the exec form', () => {
    const onbuild = only('ONBUILD RUN <<EOF\necho hi\nEOF', 'ONBUILD');
    assert.equal(onbuild.trigger.kind === 'RUN' && onbuild.trigger.heredocs[0]?.content, 'echo hi\n');
    assert.equal(onbuild.expression, 'RUN <<EOF\necho hi\nEOF');
    assert.deepEqual(only('RUN ["cat", "<<EOF"]', 'RUN').heredocs, []);
  });

  it('keeps CRLF line breaks in bodies and accepts a CRLF delimiter line', () => {
    const run = only('RUN <<EOF\r\na\r\nEOF\r\n', 'RUN');
    assert.equal(run.heredocs[0]?.content, 'a\r\n');
  });

  it('rejects an unterminated heredoc at its delimiter word', () => {
    expectError('FROM a\nRUN cat <<EOF\nno end', 'unterminated heredoc: no line "EOF" ends it', 2, 9);
  });
});

describe('errors', () => {
  it('rejects unknown instructions at the keyword', () => {
    expectError('FROM a\n  FOO bar', 'unknown instruction: FOO', 2, 3);
  });

  it('rejects missing arguments at the keyword', () => {
    expectError('FROM', 'FROM requires either one or three arguments', 1, 1);
    expectError('FROM a b', 'FROM requires either one or three arguments', 1, 1);
    expectError('FROM a b c', 'the second argument of FROM must be "AS"', 1, 8);
    expectError('FROM a\nWORKDIR', 'WORKDIR requires exactly one argument', 2, 1);
    expectError('USER  ', 'USER requires exactly one argument', 1, 1);
    expectError('EXPOSE', 'EXPOSE requires at least one argument', 1, 1);
    expectError('STOPSIGNAL', 'STOPSIGNAL requires exactly one argument', 1, 1);
  });

  it('rejects flags an instruction does not take, at the flag', () => {
    expectError('CMD --doit [ "a" ]', 'unknown flag: --doit', 1, 5);
    expectError('COPY --from=a --from=b x y', 'duplicate flag specified: --from', 1, 15);
    expectError('COPY --from x y', 'missing a value on flag: --from', 1, 6);
    expectError('COPY --link= x y', 'missing a value on flag: --link', 1, 6);
    expectError('COPY --link=maybe x y', 'expecting boolean value for flag --link, not: maybe', 1, 6);
    expectError('WORKDIR --x /a', 'unknown flag: --x', 1, 9);
  });

  it('rejects a file with no instructions', () => {
    expectError('', 'file with no instructions', 1, 1);
    expectError('# just\n\n  # comments\n', 'file with no instructions', 1, 1);
  });
});
