import type { Argv, CommandModule } from 'yargs';

const builder = (y: Argv) => y.positional('server', { type: 'string', default: 'docker.io', describe: 'registry host, e.g. 127.0.0.1:5000' });

type LogoutArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/** `tsbuild logout [SERVER]`: forgets the saved login (helper and config.json) for SERVER. */
export const logoutCommand: CommandModule<object, LogoutArgv> = {
  command: 'logout [server]',
  describe: 'forget the saved login for a registry',
  builder,
  handler: async (argv) => {
    const { logout, normaliseRegistry } = await import('../../registry/client.ts');
    const registry = normaliseRegistry(argv.server);
    const removed = await logout(registry);
    process.stderr.write(removed ? `removed the login for ${registry}\n` : `not logged in to ${registry}\n`);
  },
};
