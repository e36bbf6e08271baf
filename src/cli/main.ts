/**
 * The `tsbuild` entry point. A build command line this root has seen
 * before, whose build the build memo answered, is run again without its
 * flags being parsed (repeat-build.ts); any other goes to the command line
 * parser (cli.ts), loaded only then.
 */
import { reportError } from './error-report.ts';
import { repeatBuild } from './repeat-build.ts';

const args = process.argv.slice(2);
(async () => {
  if (!(await repeatBuild(args))) await (await import('./cli.ts')).main(args);
})().catch((e: unknown) => {
  process.exit(reportError(e, { debug: args.includes('--debug'), write: (t) => process.stderr.write(t) }));
});
