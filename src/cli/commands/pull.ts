import type { Argv, CommandModule } from 'yargs';
import { insecureRegistryOption, progressOption, quietOption, rootOption, single } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('ref', { type: 'string', demandOption: true, describe: 'image to pull, e.g. 127.0.0.1:5000/busybox:1.35' })
    .option('platform', { type: 'string', requiresArg: true, describe: 'os/arch[/variant] to take from a multi-platform image (default linux/amd64)', coerce: single('--platform') })
    .option('insecure-registry', insecureRegistryOption)
    .option('progress', progressOption)
    .option('quiet', { ...quietOption, describe: 'print only the manifest digest (no progress)' })
    .option('root', rootOption);

type PullArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild pull REF`: the image's manifest, config and layers into the
 * local store under `--root`, named REF there as a build's `-t` would.
 * Progress goes to stderr, the manifest digest to stdout.
 */
export const pullCommand: CommandModule<object, PullArgv> = {
  command: 'pull <ref>',
  describe: 'pull an image from its registry into the local store',
  builder,
  handler: async (argv) => {
    const { join } = await import('node:path');
    const { BlobStore } = await import('../../image/blob-store.ts');
    const { ImageStore } = await import('../../image/image-store.ts');
    const { formatReference, parseReference } = await import('../../image/reference.ts');
    const { pullEvents } = await import('../../progress/registry-events.ts');
    const { createRenderer } = await import('../../progress/renderer.ts');
    const { parsePlatform, pullImage } = await import('../../registry/client.ts');
    const { reportSettings } = await import('../error-report.ts');
    const ref = parseReference(argv.ref);
    const platform = argv.platform !== undefined ? parsePlatform(argv.platform) : undefined;
    const store = new BlobStore(join(argv.root, 'blobs'));
    const images = new ImageStore(join(argv.root, 'images'));
    const name = formatReference(ref);
    const renderer = await createRenderer(argv.quiet ? 'quiet' : argv.progress, { title: 'Pulling' });
    if (argv.progress === 'json' && !argv.quiet) reportSettings.json = renderer.sink;
    renderer.sink({ type: 'info', message: `pulling ${name}` });
    let image;
    try {
      image = await pullImage(ref, store, {
        ...(platform && { platform }),
        insecureRegistries: argv['insecure-registry'],
        onProgress: pullEvents(renderer.sink, name),
      });
      await images.tag(ref, image.manifest);
      renderer.sink({ type: 'info', message: `${name}: pulled ${image.manifest.digest}` });
    } finally {
      renderer.finish({ failed: image === undefined });
    }
    process.stdout.write(`${image.manifest.digest}\n`);
  },
};
