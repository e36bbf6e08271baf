import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { formatReference, parseReference } from '../../image/reference.ts';
import { findImage, localStores } from '../local-images.ts';
import { defaultRoot } from '../root.ts';

const builder = (y: Argv) =>
  y
    .positional('source', { type: 'string', demandOption: true, describe: 'an image name, digest or ID' })
    .positional('target', { type: 'string', demandOption: true, describe: 'the new name' })
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' });

type TagArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/** `tsbuild tag SOURCE TARGET`: gives a local image another name, like `docker tag`. */
export const tagCommand: CommandModule<object, TagArgv> = {
  command: 'tag <source> <target>',
  describe: 'name a local image',
  builder,
  handler: async (argv) => {
    const stores = localStores(argv.root);
    const target = parseReference(argv.target);
    if (target.digest) throw new UserError(`cannot tag with a digest: ${argv.target}`);
    const { descriptor } = await findImage(stores, argv.source);
    await stores.images.tag(target, descriptor);
    process.stderr.write(`tagged ${formatReference(target)}\n`);
  },
};
