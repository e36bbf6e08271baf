import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('source', { type: 'string', demandOption: true, describe: 'an image name, digest or ID' })
    .positional('target', { type: 'string', demandOption: true, describe: 'the new name' })
    .option('root', rootOption);

type TagArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/** `tsbuild tag SOURCE TARGET`: gives a local image another name, like `docker tag`. */
export const tagCommand: CommandModule<object, TagArgv> = {
  command: 'tag <source> <target>',
  describe: 'name a local image',
  builder,
  handler: async (argv) => {
    const { formatReference, parseReference } = await import('../../image/reference.ts');
    const { findImage, localStores } = await import('../local-images.ts');
    const stores = localStores(argv.root);
    const target = parseReference(argv.target);
    if (target.digest) throw new UserError(`cannot tag with a digest: ${argv.target}`);
    const { descriptor } = await findImage(stores, argv.source);
    await stores.images.tag(target, descriptor);
    process.stderr.write(`tagged ${formatReference(target)}\n`);
  },
};
