import type { Argv, CommandModule } from 'yargs';
import { formatOption, rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('image', { type: 'string', demandOption: true, describe: 'an image name, digest or ID' })
    .option('format', formatOption)
    .option('no-trunc', { type: 'boolean', default: false, describe: 'do not truncate CREATED BY' })
    .option('human', { alias: 'H', type: 'boolean', default: true, describe: 'sizes and dates in human-readable form' })
    .option('root', rootOption);

type HistoryArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

const CREATED_BY_WIDTH = 45;

/**
 * `tsbuild history IMAGE`: the image's build steps, newest first, like
 * `docker history`: created, created by, size (of the step's stored layer;
 * 0B for steps that added none) and comment. History entries without
 * `empty_layer` pair with the layers in order. `--format json`: one object
 * per step with `id`, `created`, `createdBy`, `size`, `comment`.
 */
export const historyCommand: CommandModule<object, HistoryArgv> = {
  command: 'history <image>',
  describe: 'show the build steps of a local image',
  builder,
  handler: async (argv) => {
    const { readImage } = await import('../../image/image-reader.ts');
    const { humanSize } = await import('../../progress/units.ts');
    const { humanAgo, table } = await import('../human-format.ts');
    const { findImage, localStores } = await import('../local-images.ts');
    const stores = localStores(argv.root);
    const { descriptor } = await findImage(stores, argv.image);
    const { manifest, config, layers } = await readImage(stores.store, descriptor);
    let layer = 0;
    const steps = (config.history ?? []).map((h) => {
      const size = h.empty_layer ? 0 : (layers[layer++]?.descriptor.size ?? 0);
      return { created: h.created ?? null, createdBy: h.created_by ?? '', size, comment: h.comment ?? '' };
    });
    steps.reverse();
    if (argv.format === 'json') {
      steps.forEach((s, i) => process.stdout.write(`${JSON.stringify({ id: i === 0 ? manifest.config.digest : '<missing>', ...s })}\n`));
      return;
    }
    const trunc = (s: string): string => (argv['no-trunc'] || s.length <= CREATED_BY_WIDTH ? s : `${s.slice(0, CREATED_BY_WIDTH - 1)}…`);
    const rows = steps.map((s, i) => [
      i === 0 ? (argv['no-trunc'] ? manifest.config.digest : manifest.config.digest.slice(7, 19)) : '<missing>',
      argv.human ? humanAgo(s.created ?? undefined) : (s.created ?? ''),
      trunc(s.createdBy.replace(/\s+/g, ' ')),
      argv.human ? humanSize(s.size) : String(s.size),
      s.comment,
    ]);
    process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
  },
};
