import type { Argv, CommandModule } from 'yargs';
import { oneOf, rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image names, digests or IDs' })
    .option('format', { type: 'string', default: 'json', describe: 'json (the only form: a JSON array)', coerce: oneOf('--format', ['json'] as const) })
    .option('root', rootOption);

type InspectArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild inspect IMAGE...`: a JSON array with, for each image, its names,
 * manifest digest (`Digest`), image ID (config digest, `Id`), the manifest
 * and the config, as stored.
 */
export const inspectCommand: CommandModule<object, InspectArgv> = {
  command: 'inspect <images..>',
  describe: 'show the manifest and config of local images',
  builder,
  handler: async (argv) => {
    const { readImage } = await import('../../image/image-reader.ts');
    const { findImage, localStores } = await import('../local-images.ts');
    const stores = localStores(argv.root);
    const out = [];
    for (const input of argv.images) {
      const { descriptor, names } = await findImage(stores, input);
      const { manifest, config } = await readImage(stores.store, descriptor);
      out.push({ Names: names, Digest: descriptor.digest, Id: manifest.config.digest, Manifest: manifest, Config: config });
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  },
};
