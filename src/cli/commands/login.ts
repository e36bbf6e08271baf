import { createInterface } from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { insecureRegistryOption } from '../flags.ts';
import { readStdin } from '../stdin.ts';

const builder = (y: Argv) =>
  y
    .positional('server', { type: 'string', default: 'docker.io', describe: 'registry host, e.g. 127.0.0.1:5000' })
    .option('username', { alias: 'u', type: 'string', describe: 'user name (asked for when omitted on a terminal)' })
    .option('password-stdin', { type: 'boolean', default: false, describe: 'read the password from stdin' })
    .option('insecure-registry', insecureRegistryOption);

type LoginArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild login [-u USER] [--password-stdin] [SERVER]`: checks the
 * credentials against the registry, then saves them as `docker login` does
 * (a credential helper when configured, else `$DOCKER_CONFIG/config.json`).
 * Without `--password-stdin` the password is asked for on the terminal,
 * unechoed; it is never accepted as an argument, where `ps` would show it.
 */
export const loginCommand: CommandModule<object, LoginArgv> = {
  command: 'login [server]',
  describe: 'log in to a registry',
  builder,
  handler: async (argv) => {
    const { login, normaliseRegistry } = await import('../../registry/client.ts');
    const registry = normaliseRegistry(argv.server);
    const tty = process.stdin.isTTY === true && !argv['password-stdin'];
    const username = argv.username ?? (tty ? await ask('Username: ') : undefined);
    if (!username) throw new UserError('login: give a username with -u');
    let password: string;
    if (argv['password-stdin']) password = (await readStdin()).toString('utf8').replace(/\r?\n$/, '');
    else if (tty) password = await askHidden('Password: ');
    else throw new UserError('login: stdin is not a terminal; pass the password on stdin with --password-stdin');
    const where = await login(registry, username, password, { insecureRegistries: argv['insecure-registry'] });
    process.stderr.write(`credentials for ${registry} saved in ${where}\n`);
    process.stdout.write('Login Succeeded\n');
  },
};

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Reads a line from the terminal in raw mode, so nothing typed is echoed. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (typed: string): void => {
      for (const ch of typed) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new UserError('login: cancelled'));
          return;
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}
