import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { parseReference } from '../../image/reference.ts';
import { humanAgo, humanSize, table } from '../human-format.ts';
import { listImages, localStores } from '../local-images.ts';
import { defaultRoot } from '../root.ts';

const builder = (y: Argv) =>
  y
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' })
    .option('format', { type: 'string', describe: 'json: one JSON object per line' })
    .option('no-trunc', { type: 'boolean', default: false, describe: 'show full image IDs' });

type ImagesArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild images`: the named images of the local store, like `docker
 * images`: repository, tag, image ID (config digest), created, size (the sum
 * of the stored, compressed layers).
 */
export const imagesCommand: CommandModule<object, ImagesArgv> = {
  command: 'images',
  describe: 'list the images in the local store',
  builder,
  handler: async (argv) => {
    if (argv.format !== undefined && argv.format !== 'json') throw new UserError(`unknown --format ${JSON.stringify(argv.format)}: only json`);
    const rows = (await listImages(localStores(argv.root))).map((img) => {
      const ref = parseReference(img.name);
      return {
        name: img.name,
        repository: `${ref.registry}/${ref.repository}`,
        tag: ref.tag ?? '<none>',
        id: img.manifest.config.digest,
        digest: img.descriptor.digest,
        created: img.config.created ?? null,
        size: img.layers.reduce((sum, l) => sum + l.descriptor.size, 0),
      };
    });
    if (argv.format === 'json') {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const id = (d: string): string => (argv['no-trunc'] ? d : d.slice(7, 19));
    process.stdout.write(
      table(
        ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        rows.map((r) => [r.repository, r.tag, id(r.id), humanAgo(r.created ?? undefined), humanSize(r.size)]),
      ),
    );
  },
};
