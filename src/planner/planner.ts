import type { BuildContext } from '../context/build-context.ts';
import type { NetworkMode } from '../executor/runtime-spec.ts';
import { UserError, type SourceLocation } from '../errors.ts';
import type { Platform } from '../image/oci.ts';
import type { Dockerfile, FromInstruction, Instruction } from '../parser/ast.ts';
import { expandWord } from '../shell/expand.ts';
import { ArgScope, automaticArgs } from './args.ts';
import type { FetchedUrl, Plan, ResolvedImage, StagePlan } from './plan.ts';
import { planStage, type Locate, type StageLookup } from './stage-planner.ts';

export interface PlanOptions {
  /** `--build-arg` values; they override ARG defaults. */
  buildArgs: ReadonlyMap<string, string>;
  /** `--target`: a stage name; default the last stage. */
  target?: string;
  platform: Platform;
  /** The build context: what COPY/ADD sources select, and the content digest that goes into their keys. */
  context: ContextReader;
  /** Looks up a base image (local store first, then its registry). */
  resolveImage: (name: string, where: SourceLocation) => Promise<ResolvedImage>;
  /** `--network`: the network of RUN steps that do not say (`default` when absent). */
  defaultNetwork?: NetworkMode;
  /** `--build-context NAME=DIR`: directories `COPY --from=NAME` and `RUN --mount=from=NAME` read, as a build context each. */
  namedContexts?: ReadonlyMap<string, ContextReader>;
  /** Downloads an ADD URL (verifying `checksum` when given) so its content can key the step. */
  fetchUrl: (url: string, checksum: string | undefined) => Promise<FetchedUrl>;
  /**
   * `SOURCE_DATE_EPOCH`: new layers' file times are clamped to it, so a
   * layer made under another epoch (or none) is another layer. It is an
   * input of every step when set: changing it misses the cache, as in
   * BuildKit; a build without it keeps its keys.
   */
  sourceDateEpoch?: number;
}

/** The part of the build context the planner reads (`BuildContext` in src/context). */
export type ContextReader = Pick<BuildContext, 'select' | 'digest'>;

/** A stage as written: its FROM and the instructions up to the next FROM. */
export interface RawStage {
  from: FromInstruction;
  name?: string;
  body: Instruction[];
}

/**
 * Turns a parsed Dockerfile into a Plan: finds the stages the target needs,
 * scopes ARG and ENV, applies each instruction's image-config semantics, and
 * gives every filesystem step its cache key. Runs nothing; it only reads the
 * build context to digest COPY sources and asks `resolveImage` for base
 * images.
 */
export async function planBuild(df: Dockerfile, opts: PlanOptions): Promise<Plan> {
  const where: Locate = (w) => ({ file: df.file, line: w.range.start.line, column: w.range.start.column });
  const consumed = new Set<string>();
  const stages: RawStage[] = [];
  const globalDecls: Instruction[] = [];
  for (const ins of df.instructions) {
    if (ins.kind === 'FROM') {
      const name = ins.stageName?.value.toLowerCase();
      if (name !== undefined && stages.some((s) => s.name === name)) {
        throw new UserError(`duplicate stage name "${name}"`, where(ins.stageName ?? ins));
      }
      stages.push({ from: ins, ...(name !== undefined && { name }), body: [] });
    } else if (stages.length > 0) (stages[stages.length - 1] as RawStage).body.push(ins);
    else if (ins.kind === 'ARG') globalDecls.push(ins);
    else throw new UserError(`${ins.keyword.value.toUpperCase()} is not allowed before the first FROM: only ARG is`, where(ins));
  }
  if (stages.length === 0) throw new UserError('the Dockerfile has no FROM', { file: df.file, line: 1, column: 1 });

  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const wanted = opts.target.toLowerCase();
    target = stages.findIndex((s) => s.name === wanted);
    if (target < 0) {
      const names = stages.flatMap((s) => (s.name ? [s.name] : []));
      throw new UserError(`target stage "${opts.target}" could not be found${names.length ? `; stages: ${names.join(', ')}` : ''}`);
    }
  }

  const auto = automaticArgs(opts.platform, opts.platform, stages[target]?.name ?? '');
  const globals = new ArgScope(opts.buildArgs, consumed);
  for (const ins of globalDecls) {
    if (ins.kind !== 'ARG') continue;
    for (const decl of ins.args) {
      const env = new Map([...auto, ...globals.values]);
      const dflt = decl.defaultValue ? expandWord(decl.defaultValue.value, env, df.escapeChar) : undefined;
      globals.declare(decl.name.value, dflt, auto);
    }
  }
  const fromEnv = new Map([...auto, ...globals.values]);

  const lookup: StageLookup = {
    byRef(ref: string, before: number): number | undefined {
      const lower = ref.toLowerCase();
      const byName = stages.findIndex((s) => s.name === lower);
      if (byName >= 0) return byName < before ? byName : undefined;
      if (/^\d+$/.test(ref) && Number(ref) < before) return Number(ref);
      return undefined;
    },
    planned: new Map<number, StagePlan>(),
    args: new Map(),
  };

  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const stage = stages[i] as RawStage;
    const base = lookup.byRef(expandWord(stage.from.image.value, fromEnv, df.escapeChar), i);
    if (base !== undefined) visit(base);
    for (const dep of stageDependencies(stage, i, lookup, fromEnv, df)) visit(dep);
  };
  visit(target);

  for (let i = 0; i < stages.length; i++) {
    if (!needed.has(i)) continue;
    const plan = await planStage(i, stages[i] as RawStage, { df, opts, fromEnv, globals: globals.values, auto, where, lookup, consumed });
    lookup.planned.set(i, plan);
  }
  const unused = [...opts.buildArgs.keys()].filter((k) => !consumed.has(k) && !auto.has(k));
  const warnings = unused.length > 0 ? [`one or more build args were not consumed: ${unused.sort().join(', ')}`] : [];
  return { stages: [...lookup.planned.values()], target, platform: opts.platform, warnings };
}

/**
 * Stages a stage reads from by `COPY --from` or `RUN --mount=from=`, as far as
 * the global args let us tell before planning it (a `--from` naming a stage
 * through a stage-local ARG is found when the stage is planned).
 */
function stageDependencies(stage: RawStage, index: number, lookup: StageLookup, env: ReadonlyMap<string, string>, df: Dockerfile): number[] {
  const refs: string[] = [];
  for (const ins of stage.body) {
    if ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.from) refs.push(ins.from.value);
    if (ins.kind === 'RUN') for (const m of ins.mounts) if (m.from !== undefined) refs.push(m.from);
  }
  return refs.flatMap((ref) => {
    const dep = lookup.byRef(expandWord(ref, env, df.escapeChar), index);
    return dep === undefined ? [] : [dep];
  });
}
