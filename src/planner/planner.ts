import { posix } from 'node:path';
import { digestSelection } from '../context/digest.ts';
import { selectSources } from '../context/select.ts';
import { UserError, type SourceLocation } from '../errors.ts';
import type { ContainerConfig, Digest, Platform } from '../image/oci.ts';
import type {
  ArgInstruction,
  CommandForm,
  CopyLikeInstruction,
  Dockerfile,
  Flag,
  FromInstruction,
  Instruction,
  Word,
} from '../parser/ast.ts';
import { expandWord, expandWords } from '../shell/expand.ts';
import { cacheKey } from './cache-key.ts';
import type { CopySourceRoot, Plan, PlannedHistory, ResolvedImage, StageBase, StagePlan, Step, StepOp } from './plan.ts';
import { DEFAULT_PATH, StageState } from './stage-state.ts';

export interface PlanOptions {
  /** `--build-arg` values; they override ARG defaults. */
  buildArgs: ReadonlyMap<string, string>;
  /** `--target`: a stage name; default the last stage. */
  target?: string;
  platform: Platform;
  /** The build context root, whose files COPY/ADD keys are digested from. */
  contextDir: string;
  /** Looks up a base image (local store first, then its registry). */
  resolveImage: (name: string, where: SourceLocation) => Promise<ResolvedImage>;
}

interface RawStage {
  from: FromInstruction;
  name?: string;
  body: Instruction[];
}

/**
 * Turns a parsed Dockerfile into a Plan: expands variables, applies each
 * instruction's image-config semantics, and gives every filesystem step its
 * cache key. Runs nothing; it only reads the build context to digest COPY
 * sources and asks `resolveImage` for base images.
 */
export async function planBuild(df: Dockerfile, opts: PlanOptions): Promise<Plan> {
  const where = (w: { range: { start: { line: number; column: number } } }): SourceLocation => ({
    file: df.file,
    line: w.range.start.line,
    column: w.range.start.column,
  });
  const globalArgs = new Map<string, string>();
  const stages: RawStage[] = [];
  for (const ins of df.instructions) {
    if (ins.kind === 'FROM') {
      stages.push({ from: ins, ...(ins.stageName && { name: ins.stageName.value.toLowerCase() }), body: [] });
    } else if (stages.length > 0) {
      (stages[stages.length - 1] as RawStage).body.push(ins);
    } else if (ins.kind === 'ARG') {
      declareArgs(ins, globalArgs, globalArgs, opts.buildArgs, df.escapeChar, where);
    } else {
      throw new UserError(`${ins.keyword.value.toUpperCase()} is not allowed before the first FROM`, where(ins));
    }
  }
  if (stages.length === 0) throw new UserError('no build stage in Dockerfile: it needs a FROM', { file: df.file, line: 1, column: 1 });

  const stageIndex = (ref: string): number | undefined => {
    const lower = ref.toLowerCase();
    const byName = stages.findIndex((s) => s.name === lower);
    if (byName >= 0) return byName;
    return /^\d+$/.test(ref) && Number(ref) < stages.length ? Number(ref) : undefined;
  };
  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = stages.findIndex((s) => s.name === opts.target?.toLowerCase());
    if (t < 0) throw new UserError(`target stage "${opts.target}" could not be found`);
    target = t;
  }

  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const stage = stages[i] as RawStage;
    const base = stageIndex(expandWord(stage.from.image.value, globalArgs, df.escapeChar));
    if (base !== undefined && base < i) visit(base);
    for (const ins of stage.body) {
      const from = ins.kind === 'COPY' ? flagValue(ins.flags, 'from') : undefined;
      if (from === undefined) continue;
      const dep = stageIndex(expandWord(from, globalArgs, df.escapeChar));
      if (dep !== undefined && dep >= i) throw new UserError(`COPY --from=${from} refers to a later stage or to its own stage`, where(ins));
      if (dep !== undefined) visit(dep);
    }
  };
  visit(target);

  const planned = new Map<number, StagePlan>();
  for (let i = 0; i < stages.length; i++) {
    if (!needed.has(i)) continue;
    const stage = stages[i] as RawStage;
    planned.set(i, await planStage(i, stage, { df, opts, globalArgs, where, stageIndex, planned }));
  }
  return { stages: [...planned.values()], target, platform: opts.platform };
}

interface StageCtx {
  df: Dockerfile;
  opts: PlanOptions;
  globalArgs: Map<string, string>;
  where: (w: { range: { start: { line: number; column: number } } }) => SourceLocation;
  stageIndex: (ref: string) => number | undefined;
  planned: Map<number, StagePlan>;
}

async function planStage(index: number, raw: RawStage, ctx: StageCtx): Promise<StagePlan> {
  const { df, opts, where } = ctx;
  const esc = df.escapeChar;
  const imageName = expandWord(raw.from.image.value, ctx.globalArgs, esc);
  if (imageName === '') throw new UserError('FROM requires an image name; it expanded to an empty string', where(raw.from.image));
  const baseStage = ctx.stageIndex(imageName);
  let base: StageBase;
  let config: ContainerConfig;
  let parentKey: Digest;
  if (baseStage !== undefined && baseStage < index) {
    const dep = ctx.planned.get(baseStage) as StagePlan;
    base = { kind: 'stage', stage: baseStage };
    config = structuredClone(dep.config);
    parentKey = dep.finalKey;
  } else if (imageName.toLowerCase() === 'scratch') {
    base = { kind: 'scratch' };
    config = { Env: [DEFAULT_PATH], WorkingDir: '/' };
    parentKey = cacheKey({ base: 'scratch' });
  } else {
    const image = await opts.resolveImage(imageName, where(raw.from.image));
    base = { kind: 'image', image };
    config = structuredClone(image.config.config ?? {});
    if (!config.Env?.some((e) => e.startsWith('PATH='))) config.Env = [DEFAULT_PATH, ...(config.Env ?? [])];
    parentKey = cacheKey({ base: image.manifest.digest });
  }

  const state = new StageState(config);
  const steps: Step[] = [];
  const history: PlannedHistory[] = [];
  const stageLabel = raw.name ?? `stage-${index}`;
  let parentId = base.kind === 'stage' ? lastVertexOf(ctx.planned, base.stage) : undefined;
  const addStep = (ins: Instruction, name: string, op: StepOp, inputs: Record<string, string>): void => {
    const key = cacheKey({ op, parent: parentKey, inputs });
    const id = `${stageLabel}/${steps.length + 1}`;
    const parents = [...(parentId ? [parentId] : []), ...(op.op === 'copy' && op.from.kind === 'stage' ? [lastVertexOf(ctx.planned, op.from.stage)] : [])];
    steps.push({ id, name, location: where(ins), op, inputs, parents: parents.filter((p): p is string => p !== undefined), key, parentKey });
    parentKey = key;
    parentId = id;
  };
  const note = (createdBy: string, step?: number): void => {
    history.push({ entry: { created_by: createdBy, comment: 'tsbuild.dockerfile.v0' }, ...(step !== undefined && { step }) });
  };

  for (const ins of raw.body) {
    const env = state.expansionEnv();
    const x = (w: Word): string => expandAt(w, env, esc, where);
    switch (ins.kind) {
      case 'ARG':
        declareArgs(ins, state.args, new Map([...ctx.globalArgs, ...env]), opts.buildArgs, esc, where, ctx.globalArgs);
        break;
      case 'ENV':
        for (const { key, value } of ins.pairs) state.setEnv(x(key), x(value));
        note(`ENV ${ins.pairs.map((p) => `${x(p.key)}=${x(p.value)}`).join(' ')}`);
        break;
      case 'LABEL': {
        const labels = { ...(state.config.Labels ?? {}) };
        for (const { key, value } of ins.pairs) labels[x(key)] = x(value);
        state.config.Labels = labels;
        note(`LABEL ${ins.pairs.map((p) => `${x(p.key)}=${x(p.value)}`).join(' ')}`);
        break;
      }
      case 'WORKDIR': {
        const path = posix.resolve(state.workdir(), x(ins.path));
        state.config.WorkingDir = path;
        addStep(ins, `WORKDIR ${path}`, { op: 'mkdir', path, user: state.user() }, {});
        note(`WORKDIR ${path}`, steps.length - 1);
        break;
      }
      case 'USER':
        state.config.User = x(ins.user);
        note(`USER ${state.config.User}`);
        break;
      case 'EXPOSE': {
        const ports = { ...(state.config.ExposedPorts ?? {}) };
        const added: string[] = [];
        for (const w of ins.ports) {
          for (const p of expandWords(w.value, env, esc)) {
            const port = p.includes('/') ? p.toLowerCase() : `${p}/tcp`;
            if (!/^\d+(-\d+)?\/(tcp|udp|sctp)$/.test(port)) throw new UserError(`invalid port ${JSON.stringify(p)}`, where(w));
            ports[port] = {};
            added.push(port);
          }
        }
        state.config.ExposedPorts = ports;
        note(`EXPOSE map[${added.map((p) => `${p}:{}`).join(' ')}]`);
        break;
      }
      case 'CMD':
        state.config.Cmd = commandArgs(ins.command, state.shell);
        state.cmdSet = true;
        note(`CMD ${goList(state.config.Cmd)}`);
        break;
      case 'ENTRYPOINT':
        state.config.Entrypoint = commandArgs(ins.command, state.shell);
        if (!state.cmdSet) state.config.Cmd = null;
        note(`ENTRYPOINT ${goList(state.config.Entrypoint)}`);
        break;
      case 'RUN': {
        const network = flagValue(ins.flags, 'network') ?? 'default';
        if (network !== 'default' && network !== 'none' && network !== 'host') {
          throw new UserError(`invalid --network=${network}: expected default, none or host`, where(ins));
        }
        const args = commandArgs(ins.command, state.shell);
        const runEnv = state.runEnv();
        const argPairs = [...state.args].filter(([k]) => !state.env().has(k)).map(([k, v]) => `${k}=${v}`);
        const shown = ins.command.form === 'shell' ? args.join(' ') : goList(args);
        addStep(ins, `RUN ${ins.command.form === 'shell' ? ins.command.script.value : goList(args)}`, {
          op: 'run',
          args,
          env: runEnv,
          user: state.user(),
          workdir: state.workdir(),
          network,
        }, {});
        note(`RUN ${argPairs.length ? `|${argPairs.length} ${argPairs.join(' ')} ` : ''}${shown}`, steps.length - 1);
        break;
      }
      case 'COPY':
      case 'ADD':
        await planCopy(ins, state, ctx, index, addStep, x);
        note(`${ins.kind} ${ins.sources.map(x).join(' ')} ${x(ins.dest)}`, steps.length - 1);
        break;
      case 'FROM':
        throw new UserError('unexpected FROM', where(ins));
      default: {
        const other = ins as Instruction;
        throw new UserError(`${other.keyword.value.toUpperCase()} is not supported by the planner yet`, where(other));
      }
    }
  }
  return {
    index,
    ...(raw.name !== undefined && { name: raw.name }),
    base,
    steps,
    config: state.config,
    history,
    finalKey: parentKey,
  };
}

async function planCopy(
  ins: CopyLikeInstruction,
  state: StageState,
  ctx: StageCtx,
  stage: number,
  addStep: (ins: Instruction, name: string, op: StepOp, inputs: Record<string, string>) => void,
  x: (w: Word) => string,
): Promise<void> {
  const { where } = ctx;
  const allowed = ins.kind === 'COPY' ? ['from', 'chown', 'chmod'] : ['chown', 'chmod'];
  for (const f of ins.flags) {
    if (!allowed.includes(f.name)) throw new UserError(`unknown flag: --${f.name}`, where(f));
  }
  const env = state.expansionEnv();
  const flag = (name: string): string | undefined => {
    const v = flagValue(ins.flags, name);
    return v === undefined ? undefined : expandWord(v, env, ctx.df.escapeChar);
  };
  const sources = ins.sources.map(x);
  const rawDest = x(ins.dest);
  const dest = posix.resolve(state.workdir(), rawDest) + (rawDest.endsWith('/') && rawDest !== '/' ? '/' : '');
  const fromRef = flag('from');
  const chown = flag('chown');
  const chmod = flag('chmod');
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) {
    throw new UserError(`invalid --chmod=${chmod}: expected an octal mode such as 0755`, where(ins));
  }
  let inputs: Record<string, string>;
  let from: CopySourceRoot = { kind: 'context' };
  if (fromRef !== undefined) {
    const dep = ctx.stageIndex(fromRef);
    if (dep === undefined || dep >= stage) {
      throw new UserError(`COPY --from=${fromRef}: no earlier stage has that name (copying from images is not supported yet)`, where(ins));
    }
    from = { kind: 'stage', stage: dep };
    inputs = { from: (ctx.planned.get(dep) as StagePlan).finalKey };
  } else {
    const selection = await selectSources(ctx.opts.contextDir, sources, where(ins));
    inputs = { context: await digestSelection(ctx.opts.contextDir, selection) };
  }
  addStep(
    ins,
    `${ins.kind} ${fromRef !== undefined ? `--from=${fromRef} ` : ''}${sources.join(' ')} ${rawDest}`,
    { op: 'copy', add: ins.kind === 'ADD', from, sources, dest, ...(chown !== undefined && { chown }), ...(chmod !== undefined && { chmod }) },
    inputs,
  );
}

/** `ARG a=1 b`: declares each name; a `--build-arg` beats the default; a bare name re-imports a global. */
function declareArgs(
  ins: ArgInstruction,
  into: Map<string, string>,
  env: ReadonlyMap<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  esc: Dockerfile['escapeChar'],
  where: StageCtx['where'],
  globals?: ReadonlyMap<string, string>,
): void {
  for (const decl of ins.args) {
    const name = decl.name.value;
    const override = buildArgs.get(name);
    if (override !== undefined) into.set(name, override);
    else if (decl.defaultValue) into.set(name, expandAt(decl.defaultValue, env, esc, where));
    else if (globals?.has(name)) into.set(name, globals.get(name) as string);
  }
}

function expandAt(w: Word, env: ReadonlyMap<string, string>, esc: Dockerfile['escapeChar'], where: StageCtx['where']): string {
  try {
    return expandWord(w.value, env, esc);
  } catch (e) {
    if (e instanceof UserError && !e.location) throw new UserError(e.message, where(w));
    throw e;
  }
}

/** The id of the last vertex of a planned stage (through its base stages), if it has any. */
function lastVertexOf(planned: ReadonlyMap<number, StagePlan>, stage: number): string | undefined {
  const s = planned.get(stage);
  if (!s) return undefined;
  return s.steps.at(-1)?.id ?? (s.base.kind === 'stage' ? lastVertexOf(planned, s.base.stage) : undefined);
}

function flagValue(flags: readonly Flag[], name: string): string | undefined {
  return flags.find((f) => f.name === name)?.value;
}

/** Exec form as given; shell form wrapped in the stage's SHELL. */
function commandArgs(cmd: CommandForm, shell: readonly string[]): string[] {
  return cmd.form === 'exec' ? cmd.args.map((a) => a.value) : [...shell, cmd.script.value];
}

/** Go's `%q` rendering of a string list, as BuildKit writes CMD/ENTRYPOINT history. */
function goList(args: readonly string[] | null | undefined): string {
  return `[${(args ?? []).map((a) => JSON.stringify(a)).join(' ')}]`;
}
