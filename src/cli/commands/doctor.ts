import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { bool, rootOption } from '../flags.ts';

const builder = (y: Argv) =>
  y.option('check', { type: 'boolean', default: false, coerce: bool, describe: 'only report: repair nothing, exit 1 when something is wrong' }).option('root', rootOption);

type DoctorArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild doctor [--check]`: checks the store (every blob against its
 * digest, every cache record and image name against what it refers to) and
 * repairs what a crash left: dead builds' mounts and containers,
 * half-written files, orphan diff dirs, stale locks. One line per problem on
 * stdout, then a summary. See `src/cache/doctor.ts`.
 */
export const doctorCommand: CommandModule<object, DoctorArgv> = {
  command: 'doctor',
  describe: 'check the store and repair what a crash left',
  builder,
  handler: async (argv) => {
    const { doctor } = await import('../../cache/doctor.ts');
    const report = await doctor(argv.root, {
      repair: !argv.check,
      onWait: (builds) => process.stderr.write(builds > 0 ? `waiting for ${builds} running build(s) to finish...\n` : 'waiting for a prune to finish...\n'),
    });
    for (const p of report.problems) process.stdout.write(`${p}\n`);
    const { blobs, records, images, snapshots } = report.checked;
    const checked = `checked ${blobs} blobs, ${records} cache records, ${images} image names, ${snapshots} diff dirs`;
    if (report.garbage > 0) process.stdout.write(`${report.garbage} diff dir(s) left by steps run again: ${argv.check ? 'garbage, not damage' : 'removed'}\n`);
    if (report.problems.length === 0) process.stdout.write(`${checked}: no problems\n`);
    else if (argv.check) throw new UserError(`${checked}: ${report.problems.length} problem(s); run tsbuild doctor to repair them`);
    else process.stdout.write(`${checked}: ${report.problems.length} problem(s) repaired\n`);
  },
};
