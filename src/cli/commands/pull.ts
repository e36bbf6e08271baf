import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BlobStore } from '../../image/blob-store.ts';
import { ImageStore } from '../../image/image-store.ts';
import { formatReference, parseReference } from '../../image/reference.ts';
import { parsePlatform, pullImage, type PullProgress } from '../../registry/client.ts';
import { defaultRoot } from '../root.ts';

const builder = (y: Argv) =>
  y
    .positional('ref', { type: 'string', demandOption: true, describe: 'image to pull, e.g. 127.0.0.1:5000/busybox:1.35' })
    .option('platform', { type: 'string', describe: 'os/arch[/variant] to take from a multi-platform image (default linux/amd64)' })
    .option('insecure-registry', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'speak plain HTTP to this registry (repeatable)' })
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' });

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
    const ref = parseReference(argv.ref);
    const store = new BlobStore(join(argv.root, 'blobs'));
    const images = new ImageStore(join(argv.root, 'images'));
    const name = formatReference(ref);
    process.stderr.write(`pulling ${name}\n`);
    const image = await pullImage(ref, store, {
      ...(argv.platform !== undefined && { platform: parsePlatform(argv.platform) }),
      insecureRegistries: argv['insecure-registry'],
      onProgress: (e) => {
        const line = describe(e);
        if (line) process.stderr.write(`${line}\n`);
      },
    });
    await images.tag(ref, image.manifest);
    process.stderr.write(`${name}: pulled ${image.manifest.digest}\n`);
    process.stdout.write(`${image.manifest.digest}\n`);
  },
};

function describe(e: PullProgress): string | undefined {
  switch (e.type) {
    case 'manifest':
      return `manifest ${e.descriptor.digest}`;
    case 'layer-cached':
      return `${short(e.digest)}: already present`;
    case 'layer-done':
      return `${short(e.digest)}: pulled ${megabytes(e.size)}`;
    case 'layer-progress':
      return undefined;
  }
}

function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}
