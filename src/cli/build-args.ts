import { UserError } from '../errors.ts';

/** `--build-arg NAME=VALUE`, or `--build-arg NAME` taking the value from the environment (skipped when unset), as docker does. */
export function parseBuildArgs(values: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const name = eq < 0 ? v : v.slice(0, eq);
    if (name.trim() === '') throw new UserError(`invalid --build-arg ${JSON.stringify(v)}: expected NAME=VALUE or NAME`);
    if (eq < 0) {
      const fromEnv = process.env[v];
      if (fromEnv !== undefined) m.set(v, fromEnv);
    } else m.set(name, v.slice(eq + 1));
  }
  return m;
}
