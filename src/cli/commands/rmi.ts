import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image names, digests or IDs' })
    .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'remove every name of an image given by ID' })
    .option('root', rootOption);

type RmiArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild rmi IMAGE...`: removes names from the local store, like `docker
 * rmi`. An image given by ID or digest loses its only name, or all of them
 * with `--force`. Blobs stay in the store (shared with the build cache).
 */
export const rmiCommand: CommandModule<object, RmiArgv> = {
  command: 'rmi <images..>',
  describe: 'remove local image names',
  builder,
  handler: async (argv) => {
    const { parseReference } = await import('../../image/reference.ts');
    const { findImage, localStores } = await import('../local-images.ts');
    const stores = localStores(argv.root);
    for (const input of argv.images) {
      const { names } = await findImage(stores, input);
      if (names.length === 0) throw new UserError(`image ${input} has no name to remove`);
      if (names.length > 1 && !argv.force) {
        throw new UserError(`image ${input} has ${names.length} names (${names.join(', ')}): remove them by name, or use --force`);
      }
      for (const name of names) {
        await stores.images.remove(parseReference(name));
        process.stdout.write(`Untagged: ${name}\n`);
      }
    }
  },
};
