import { UserError } from '../errors.ts';
import type { Digest } from '../image/oci.ts';
import type { Plan } from '../planner/plan.ts';

/**
 * Which cache records a build must not use, and why (the reason `--explain`
 * prints): all of them with `--no-cache`; with `--no-cache-filter STAGE`,
 * the steps of those stages and every step that depends on one of them
 * (through `FROM`, `COPY --from` or `RUN --mount=from`), since what they
 * read is made anew. The steps still record their results.
 *
 * A filter naming no stage of the Dockerfile is an error; one naming a stage
 * the target does not need changes nothing.
 */
export function ignoredKeys(plan: Plan, noCache: boolean, filter: readonly string[], stageNames: readonly string[]): (key: Digest) => string | undefined {
  if (noCache) return () => '--no-cache';
  if (filter.length === 0) return () => undefined;
  const wanted = new Set(filter.map((f) => f.toLowerCase()));
  for (const name of wanted) {
    if (!stageNames.includes(name) && !/^\d+$/.test(name)) {
      throw new UserError(`--no-cache-filter ${name}: no stage has that name${stageNames.length ? `; stages: ${stageNames.join(', ')}` : ''}`);
    }
  }
  const reasons = new Map<Digest, string>();
  const forced = new Set<string>();
  for (const stage of plan.stages) {
    const named = wanted.has(stage.name ?? '') || wanted.has(String(stage.index));
    for (const step of stage.steps) {
      if (named) reasons.set(step.key, `--no-cache-filter ${stage.name ?? stage.index}`);
      else {
        const dep = step.parents.find((p) => forced.has(p));
        if (dep === undefined) continue;
        reasons.set(step.key, `it depends on ${dep}, which --no-cache-filter rebuilds`);
      }
      forced.add(step.id);
    }
  }
  return (key) => reasons.get(key);
}
