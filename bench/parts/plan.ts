// Planning cost: a Dockerfile of 1,000 instructions (RUN, COPY, ENV, ARG,
// LABEL, WORKDIR mixed) planned by `tsbuild plan` (nothing runs), median of
// 5 runs, beside the cost of starting the CLI at all (`tsbuild --help`).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, run as runCommand } from '../../test/helpers/tsbuild.ts';
import { median, printTable, timeRuns } from '../stats.ts';

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-plan-'));
  try {
    const lines = ['FROM scratch', 'ARG VERSION=1'];
    for (let i = 0; lines.length < 1000; i++) {
      await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`);
      lines.push(`ENV STEP_${i}=value-${i}`, `COPY f${i}.txt /files/`, `RUN ["/bin/true", "${i}"]`, `LABEL step.${i}=x`, `WORKDIR /w${i % 7}`);
    }
    await writeFile(join(dir, 'Dockerfile'), `${lines.slice(0, 1000).join('\n')}\n`);
    const root = join(dir, 'root');
    const cli = (args: string[]) => async () => {
      const r = await runCommand(join(projectRoot, 'bin/tsbuild'), args);
      if (r.code !== 0) throw new Error(r.stderr);
    };
    const plan = median(await timeRuns(5, cli(['plan', '--root', root, '--format', 'json', dir])));
    const help = median(await timeRuns(5, cli(['--help'])));
    printTable(['what', 'seconds'], [
      ['tsbuild plan, 1,000 instructions', plan.toFixed(3)],
      ['tsbuild --help (start-up alone)', help.toFixed(3)],
      ['planning itself (difference)', (plan - help).toFixed(3)],
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
