import type { Argv, CommandModule } from 'yargs';
import type { Plan, StagePlan } from '../../planner/plan.ts';
import { oneOf, progressOption, repeatable, rootOption, single } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .positional('context', { type: 'string', default: '.', describe: 'build context directory' })
    .option('file', { alias: 'f', type: 'string', requiresArg: true, describe: 'Dockerfile path (default CONTEXT/Dockerfile)', coerce: single('--file') })
    .option('build-arg', repeatable('set a build argument NAME=VALUE'))
    .option('target', { type: 'string', requiresArg: true, describe: 'plan this stage', coerce: single('--target') })
    .option('format', { type: 'string', default: 'text', describe: 'text (an outline) or json (the whole plan)', coerce: oneOf('--format', ['text', 'json'] as const) })
    .option('json', { type: 'boolean', default: false, describe: 'same as --format json' })
    .option('explain', { type: 'boolean', default: false, describe: 'say, for each step that would miss the cache, what changed since the last build' })
    .option('source-date-epoch', { type: 'string', requiresArg: true, describe: 'plan as a build with these seconds would (default $SOURCE_DATE_EPOCH)', coerce: single('--source-date-epoch') })
    .option('progress', progressOption)
    .option('root', rootOption);

type PlanArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

function baseName(stage: StagePlan, plan: Plan): string {
  const b = stage.base;
  if (b.kind === 'scratch') return 'scratch';
  if (b.kind === 'image') return `${b.image.name}@${b.image.manifest.digest}`;
  const dep = plan.stages.find((s) => s.index === b.stage);
  return `stage ${dep?.name ?? b.stage}`;
}

/** The plan as an outline: each stage, each vertex with its key, parents and inputs. */
function outline(plan: Plan): string {
  const lines: string[] = [];
  for (const stage of plan.stages) {
    const target = stage.index === plan.target ? ' (target)' : '';
    lines.push(`stage ${stage.name ?? stage.index}${target}: FROM ${baseName(stage, plan)}`);
    for (const step of stage.steps) {
      lines.push(`  ${step.id}  ${step.key.slice('sha256:'.length)}  ${step.name}`);
      if (step.parents.length > 0) lines.push(`      parents: ${step.parents.join(', ')}`);
      for (const [k, v] of Object.entries(step.inputs)) lines.push(`      ${k}: ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `tsbuild plan [CONTEXT]`: the layer DAG with its cache keys, without running anything (base images are pulled when missing). */
export const planCommand: CommandModule<object, PlanArgv> = {
  command: 'plan [context]',
  describe: 'show the build plan (the layer DAG and cache keys) without running it',
  builder,
  handler: async (argv) => {
    const { join, resolve } = await import('node:path');
    const { loadPlan } = await import('../../build/load-plan.ts');
    const { BlobStore } = await import('../../image/blob-store.ts');
    const { ImageStore } = await import('../../image/image-store.ts');
    const { createRenderer } = await import('../../progress/renderer.ts');
    const { parseBuildArgs } = await import('../build-args.ts');
    const { reportSettings } = await import('../error-report.ts');
    const epoch = (await import('../source-date-epoch.ts')).sourceDateEpoch(argv['source-date-epoch']);
    reportSettings.baseDir = resolve(argv.context);
    if (argv.file !== undefined) reportSettings.sources.set(argv.file, resolve(argv.file));
    const renderer = await createRenderer(argv.progress);
    if (argv.progress === 'json') reportSettings.json = renderer.sink;
    let loaded;
    try {
      loaded = await loadPlan({
        contextDir: argv.context,
        root: argv.root,
        ...(argv.file !== undefined && { dockerfile: argv.file }),
        buildArgs: parseBuildArgs(argv['build-arg']),
        ...(argv.target !== undefined && { target: argv.target }),
        ...(epoch !== undefined && { sourceDateEpoch: epoch }),
        store: new BlobStore(join(argv.root, 'blobs')),
        images: new ImageStore(join(argv.root, 'images')),
        progress: renderer.sink,
      });
    } finally {
      renderer.finish({ failed: loaded === undefined });
    }
    let explained: string[] = [];
    try {
      if (argv.explain) {
        const { explainPlan } = await import('../../build/explain-plan.ts');
        const buildArgs = parseBuildArgs(argv['build-arg']);
        explained = await explainPlan(loaded, { root: argv.root, buildArgs, ...(argv.target !== undefined && { target: argv.target }) });
      }
    } finally {
      await loaded.context.close();
    }
    const json = argv.json || argv.format === 'json';
    process.stdout.write(json ? `${JSON.stringify(loaded.plan, null, 2)}\n` : outline(loaded.plan));
    if (argv.explain) {
      for (const line of explained) process.stderr.write(`cache miss: ${line}\n`);
      if (explained.length === 0) process.stderr.write('every step is cached\n');
    }
  },
};
