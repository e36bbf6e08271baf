import type { Argv, CommandModule } from 'yargs';
import { formatOption, rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .option('format', formatOption)
    .option('no-trunc', { type: 'boolean', default: false, describe: 'show full image IDs' })
    .option('root', rootOption);

type ImagesArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild images`: the named images of the local store, like `docker
 * images`: repository, tag, image ID (config digest), created, size (the sum
 * of the stored, compressed layers). `--format json`: one object per image
 * with `name`, `repository`, `tag`, `id`, `digest`, `created`, `size`.
 */
export const imagesCommand: CommandModule<object, ImagesArgv> = {
  command: 'images',
  describe: 'list the images in the local store',
  builder,
  handler: async (argv) => {
    const { familiarName, parseReference } = await import('../../image/reference.ts');
    const { humanSize } = await import('../../progress/units.ts');
    const { humanAgo, table } = await import('../human-format.ts');
    const { listImages, localStores } = await import('../local-images.ts');
    const rows = (await listImages(localStores(argv.root))).map((img) => {
      const ref = parseReference(img.name);
      return {
        name: img.name,
        // As docker shows it: `app`, `team/app`, `host:5000/app`.
        repository: familiarName({ registry: ref.registry, repository: ref.repository }),
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
