import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { insecureRegistryOption, progressOption, quietOption, rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('ref', { type: 'string', demandOption: true, describe: 'name of an image in the local store, e.g. 127.0.0.1:5000/app:1' })
    .option('insecure-registry', insecureRegistryOption)
    .option('progress', progressOption)
    .option('quiet', { ...quietOption, describe: 'print only the manifest digest (no progress)' })
    .option('root', rootOption);

type PushArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild push REF`: the image named REF in the local store (built with
 * `-t REF`, or pulled) to the registry and repository REF names. Layers the
 * local store knows from another repository of that registry are mounted
 * rather than uploaded. Progress goes to stderr, the manifest digest to stdout.
 */
export const pushCommand: CommandModule<object, PushArgv> = {
  command: 'push <ref>',
  describe: 'push an image from the local store to its registry',
  builder,
  handler: async (argv) => {
    const { join } = await import('node:path');
    const { BlobStore } = await import('../../image/blob-store.ts');
    const { ImageStore } = await import('../../image/image-store.ts');
    const { formatReference, parseReference } = await import('../../image/reference.ts');
    const { pushEvents } = await import('../../progress/registry-events.ts');
    const { createRenderer } = await import('../../progress/renderer.ts');
    const { blobLocations, pushImage } = await import('../../registry/client.ts');
    const { reportSettings } = await import('../error-report.ts');
    const ref = parseReference(argv.ref);
    const name = formatReference(ref);
    const store = new BlobStore(join(argv.root, 'blobs'));
    const images = new ImageStore(join(argv.root, 'images'));
    const manifest = await images.resolve(ref);
    if (!manifest) throw new UserError(`no image named ${name} in ${argv.root} (build it with -t ${argv.ref}, or pull it)`);
    const renderer = await createRenderer(argv.quiet ? 'quiet' : argv.progress, { title: 'Pushing' });
    if (argv.progress === 'json' && !argv.quiet) reportSettings.json = renderer.sink;
    renderer.sink({ type: 'info', message: `pushing ${name}` });
    let pushed = false;
    try {
      await pushImage(store, manifest, ref, {
        insecureRegistries: argv['insecure-registry'],
        knownLocations: await blobLocations(store, images),
        onProgress: pushEvents(renderer.sink),
      });
      pushed = true;
    } finally {
      renderer.finish({ failed: !pushed });
    }
    process.stdout.write(`${manifest.digest}\n`);
  },
};
