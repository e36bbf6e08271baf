import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadPlan } from '../../build/load-plan.ts';
import { BlobStore } from '../../image/blob-store.ts';
import { ImageStore } from '../../image/image-store.ts';
import type { Plan, StagePlan } from '../../planner/plan.ts';
import { plainRenderer } from '../../progress/plain.ts';
import { parseBuildArgs } from '../build-args.ts';
import { defaultRoot } from '../root.ts';

const builder = (y: Argv) =>
  y
    .positional('context', { type: 'string', default: '.', describe: 'build context directory' })
    .option('file', { alias: 'f', type: 'string', describe: 'Dockerfile path (default CONTEXT/Dockerfile)' })
    .option('build-arg', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'set a build-time variable NAME=VALUE' })
    .option('target', { type: 'string', describe: 'plan this stage' })
    .option('json', { type: 'boolean', default: false, describe: 'print the plan as JSON' })
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' });

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

/** `tsbuild plan [CONTEXT]`: the layer DAG with its cache keys, without running anything. */
export const planCommand: CommandModule<object, PlanArgv> = {
  command: 'plan [context]',
  describe: 'show the build plan (the layer DAG and cache keys) without running it',
  builder,
  handler: async (argv) => {
    const { plan, context } = await loadPlan({
      contextDir: argv.context,
      root: argv.root,
      ...(argv.file !== undefined && { dockerfile: argv.file }),
      buildArgs: parseBuildArgs(argv['build-arg']),
      ...(argv.target !== undefined && { target: argv.target }),
      store: new BlobStore(join(argv.root, 'blobs')),
      images: new ImageStore(join(argv.root, 'images')),
      progress: plainRenderer((t) => process.stderr.write(t)),
    });
    await context.close();
    process.stdout.write(argv.json ? `${JSON.stringify(plan, null, 2)}\n` : outline(plan));
  },
};
