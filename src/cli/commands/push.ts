import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { BlobStore } from '../../image/blob-store.ts';
import { ImageStore } from '../../image/image-store.ts';
import { formatReference, parseReference } from '../../image/reference.ts';
import { blobLocations, pushImage, type PushProgress } from '../../registry/client.ts';
import { defaultRoot } from '../root.ts';

const builder = (y: Argv) =>
  y
    .positional('ref', { type: 'string', demandOption: true, describe: 'name of an image in the local store, e.g. 127.0.0.1:5000/app:1' })
    .option('insecure-registry', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'speak plain HTTP to this registry (repeatable)' })
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' });

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
    const ref = parseReference(argv.ref);
    const name = formatReference(ref);
    const store = new BlobStore(join(argv.root, 'blobs'));
    const images = new ImageStore(join(argv.root, 'images'));
    const manifest = await images.resolve(ref);
    if (!manifest) throw new UserError(`no image named ${name} in ${argv.root} (build it with -t ${argv.ref}, or pull it)`);
    process.stderr.write(`pushing ${name}\n`);
    await pushImage(store, manifest, ref, {
      insecureRegistries: argv['insecure-registry'],
      knownLocations: await blobLocations(store, images),
      onProgress: (e) => {
        const line = describe(e);
        if (line) process.stderr.write(`${line}\n`);
      },
    });
    process.stdout.write(`${manifest.digest}\n`);
  },
};

function describe(e: PushProgress): string | undefined {
  switch (e.type) {
    case 'blob-exists':
      return `${short(e.digest)}: already in ${e.repository}`;
    case 'blob-mounted':
      return `${short(e.digest)}: mounted from ${e.from}`;
    case 'blob-done':
      return `${short(e.digest)}: pushed ${(e.size / 1e6).toFixed(1)} MB`;
    case 'manifest':
      return `${e.ref}: digest ${e.descriptor.digest} size ${e.descriptor.size}`;
    case 'blob-progress':
      return undefined;
  }
}

function short(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
