import { posix } from 'node:path';
import { UserError, type SourceLocation } from '../errors.ts';
import type { ContainerConfig, Digest } from '../image/oci.ts';
import type { CommandForm, CopyLikeInstruction, Dockerfile, Instruction, RunInstruction, Word } from '../parser/ast.ts';
import { expandWord } from '../shell/expand.ts';
import { ArgScope, looksSecret } from './args.ts';
import { cacheKey, type KeyInput } from './cache-key.ts';
import { applyConfigInstruction } from './config-instructions.ts';
import { goQuotedList, runCreatedBy } from './history.ts';
import type { PlanOptions, RawStage } from './planner.ts';
import { EPOCH_INPUT, type InlineFile, type PlannedHistory, type PlannedMount, type ResolvedImage, type SourceRoot, type StageBase, type StagePlan, type Step, type StepOp } from './plan.ts';
import { DEFAULT_PATH, StageState } from './stage-state.ts';

export type Locate = (node: { range: { start: { line: number; column: number } } }) => SourceLocation;

export interface StageLookup {
  /** The index of the stage `ref` names (name or number), if it is one defined before `before`. */
  byRef(ref: string, before: number): number | undefined;
  planned: Map<number, StagePlan>;
  /** The ARGs in scope at the end of each planned stage: a stage built FROM it starts with them (BuildKit's scoping). */
  args: Map<number, ReadonlyMap<string, string>>;
}

export interface StageContext {
  df: Dockerfile;
  opts: PlanOptions;
  /** Global ARGs and automatic args, for FROM lines. */
  fromEnv: ReadonlyMap<string, string>;
  /** Global ARGs only: what `ARG NAME` in a stage re-imports. */
  globals: ReadonlyMap<string, string>;
  auto: ReadonlyMap<string, string>;
  where: Locate;
  lookup: StageLookup;
  consumed: Set<string>;
}

const COMMENT = 'tsbuild.dockerfile.v0';

/** Plans one stage: its base, then each instruction in order (after the base image's ONBUILD triggers). */
export async function planStage(index: number, raw: RawStage, ctx: StageContext): Promise<StagePlan> {
  const { df, opts, where } = ctx;
  const esc = df.escapeChar;
  const imageName = expandWord(raw.from.image.value, ctx.fromEnv, esc);
  if (imageName === '') throw new UserError('FROM needs an image name: it expanded to an empty string', where(raw.from.image));
  const baseStage = ctx.lookup.byRef(imageName, index);
  let base: StageBase;
  let config: ContainerConfig;
  let author: string | undefined;
  let parentKey: Digest;
  let parentId: string | undefined;
  if (baseStage !== undefined) {
    const dep = ctx.lookup.planned.get(baseStage) as StagePlan;
    base = { kind: 'stage', stage: baseStage };
    config = structuredClone(dep.config);
    author = dep.author;
    parentKey = dep.finalKey;
    parentId = lastVertexOf(ctx.lookup.planned, baseStage);
  } else if (imageName.toLowerCase() === 'scratch') {
    base = { kind: 'scratch' };
    config = { Env: [DEFAULT_PATH] };
    parentKey = cacheKey({ base: 'scratch' });
  } else {
    const image = await opts.resolveImage(imageName, where(raw.from.image));
    base = { kind: 'image', image };
    config = structuredClone(image.config.config ?? {});
    author = image.config.author;
    if (!config.Env?.some((e) => e.startsWith('PATH='))) config.Env = [DEFAULT_PATH, ...(config.Env ?? [])];
    parentKey = cacheKey({ base: image.manifest.digest });
  }

  const triggers = config.OnBuild ?? [];
  delete config.OnBuild;
  const state = new StageState(config);
  const args = new ArgScope(opts.buildArgs, ctx.consumed, baseStage !== undefined ? ctx.lookup.args.get(baseStage) : undefined);
  const steps: Step[] = [];
  const history: PlannedHistory[] = [];
  const stageLabel = raw.name ?? `stage-${index}`;

  const addStep = (ins: Instruction, name: string, op: StepOp, stepInputs: Record<string, string>, extraParents: string[] = []): void => {
    const epoch = opts.sourceDateEpoch;
    const inputs = epoch === undefined ? stepInputs : { ...stepInputs, [EPOCH_INPUT]: String(epoch) };
    const link = op.op === 'copy' && op.link;
    const key = cacheKey(link ? { op: keyView(op), inputs } : { op: keyView(op), parent: parentKey, inputs });
    const id = `${stageLabel}/${steps.length + 1}`;
    const parents = [...(parentId !== undefined ? [parentId] : []), ...extraParents];
    steps.push({ id, name, location: where(ins), parents, op, inputs, key, parentKey });
    parentKey = link ? cacheKey({ parent: parentKey, link: key }) : key;
    parentId = id;
  };
  const note = (createdBy: string, withStep = false): void => {
    history.push({ entry: { created_by: createdBy, comment: COMMENT }, ...(withStep && { step: steps.length - 1 }) });
  };

  const sourceRoot = async (ref: string, ins: Instruction, sources: string[]): Promise<{ root: SourceRoot; key: string; parents: string[] }> => {
    const named = opts.namedContexts?.get(ref);
    if (named) return { root: { kind: 'named', name: ref }, key: await named.digest(await named.select(sources, where(ins))), parents: [] };
    const dep = ctx.lookup.byRef(ref, index);
    if (dep !== undefined) {
      const planned = ctx.lookup.planned.get(dep);
      if (!planned) throw new UserError(`stage ${ref} is not planned`, where(ins));
      const last = lastVertexOf(ctx.lookup.planned, dep);
      return { root: { kind: 'stage', stage: dep }, key: planned.finalKey, parents: last !== undefined ? [last] : [] };
    }
    if (ref.toLowerCase() === 'scratch' || /^\d+$/.test(ref)) throw new UserError(`--from=${ref}: no earlier stage has that name or index`, where(ins));
    const image = await opts.resolveImage(ref, where(ins));
    return { root: { kind: 'image', image }, key: image.manifest.digest, parents: [] };
  };

  const run = async (ins: Instruction): Promise<void> => {
    const env = state.expansionEnv(args.values);
    const x = (w: Word): string => expandAt(w, env, esc, where);
    switch (ins.kind) {
      case 'ARG':
        for (const decl of ins.args) {
          const name = decl.name.value;
          const dflt = decl.defaultValue ? x(decl.defaultValue) : undefined;
          args.declare(name, dflt, new Map([...ctx.auto, ...ctx.globals]));
        }
        // as BuildKit records it: the declaration with its default expanded, whatever --build-arg says
        note(`ARG ${ins.args.map((d) => (d.defaultValue ? `${d.name.value}=${looksSecret(d.name.value) ? '<redacted>' : x(d.defaultValue)}` : d.name.value)).join(' ')}`);
        return;
      case 'WORKDIR': {
        const path = posix.resolve(state.workdir(), x(ins.path));
        state.config.WorkingDir = path;
        addStep(ins, `WORKDIR ${path}`, { op: 'mkdir', path, user: state.user() }, {});
        note(`WORKDIR ${path}`, true);
        return;
      }
      case 'RUN': {
        const { op, inputs, parents } = await planRun(ins, state, args, env, ctx, sourceRoot);
        addStep(ins, `RUN ${describeCommand(ins.command, op.args)}`, op, inputs, parents);
        const stateEnv = state.env();
        note(runCreatedBy(op.args, args.declared, (k) => stateEnv.get(k) ?? args.values.get(k) ?? ''), true);
        return;
      }
      case 'COPY':
      case 'ADD': {
        const { op, inputs, parents, createdBy, name } = await planCopy(ins, state, env, ctx, sourceRoot);
        addStep(ins, name, op, inputs, parents);
        note(createdBy, true);
        return;
      }
      case 'FROM':
        throw new UserError('FROM inside a stage', where(ins));
      case 'ONBUILD':
        // stored for images built FROM this one; BuildKit writes no history entry for it
        state.config.OnBuild = [...(state.config.OnBuild ?? []), ins.expression];
        return;
      case 'MAINTAINER':
        author = x(ins.maintainer);
        note(`MAINTAINER ${author}`);
        return;
      default:
        note(applyConfigInstruction(ins, state, env, esc, where));
    }
  };

  for (const [i, trigger] of triggers.entries()) {
    // the parser is loaded only for an image with ONBUILD triggers: a build's own Dockerfile usually comes from the parse cache
    const parsed = (await import('../parser/parse.ts')).parseDockerfile(trigger, `${imageName} ONBUILD trigger ${i + 1}`).instructions[0];
    if (parsed) await run(parsed);
  }
  for (const ins of raw.body) await run(ins);
  ctx.lookup.args.set(index, args.values);

  return {
    index,
    ...(raw.name !== undefined && { name: raw.name }),
    base,
    steps,
    config: state.config,
    ...(author !== undefined && { author }),
    history,
    finalKey: parentKey,
  };
}

async function planRun(
  ins: RunInstruction,
  state: StageState,
  args: ArgScope,
  env: ReadonlyMap<string, string>,
  ctx: StageContext,
  sourceRoot: (ref: string, ins: Instruction, sources: string[]) => Promise<{ root: SourceRoot; key: string; parents: string[] }>,
): Promise<{ op: Extract<StepOp, { op: 'run' }>; inputs: Record<string, string>; parents: string[] }> {
  const x = (s: string): string => expandWord(s, env, ctx.df.escapeChar);
  const files: InlineFile[] = [];
  let argv: string[];
  if (ins.command.form === 'exec') argv = ins.command.args.map((a) => a.value);
  else if (ins.heredocs.length > 0 && /^\s*\d*<<-?["']?[^\s]+["']?\s*$/.test(ins.command.script.value)) {
    // `RUN <<EOF` alone: the body is the script, or a program of its own when it starts with #!.
    const doc = ins.heredocs[0] as (typeof ins.heredocs)[number];
    if (doc.content.startsWith('#!')) {
      files.push({ name: doc.name, content: doc.content });
      argv = [`/dev/pipes/${doc.name}`];
    } else argv = [...state.shell, doc.content];
  } else {
    const bodies = ins.heredocs.map((d) => `\n${d.rawContent}${d.name}`).join('');
    argv = [...state.shell, ins.heredocs.length > 0 ? `${ins.command.script.value}${bodies}\n` : ins.command.script.value];
  }
  const inputs: Record<string, string> = {};
  const parents: string[] = [];
  const mounts: PlannedMount[] = [];
  for (const [i, m] of ins.mounts.entries()) {
    const target = m.target !== undefined ? posix.resolve(state.workdir(), x(m.target)) : undefined;
    const mode = m.mode ?? (m.type === 'ssh' ? 0o600 : m.type === 'secret' ? 0o400 : 0o755);
    const uid = m.uid ?? 0;
    const gid = m.gid ?? 0;
    switch (m.type) {
      case 'bind': {
        if (!target) throw new UserError('--mount=type=bind needs a target', ctx.where(m.spec));
        const source = posix.normalize(`/${x(m.source ?? '/')}`);
        let from: SourceRoot = { kind: 'context' };
        if (m.from !== undefined) {
          const r = await sourceRoot(x(m.from), ins, [source === '/' ? '.' : source.slice(1)]);
          from = r.root;
          inputs[`mount${i}`] = r.key;
          parents.push(...r.parents);
        } else {
          // a bind source is always inside the context: `/` is its root, as BuildKit has it
          const rel = source === '/' ? '.' : source.slice(1);
          inputs[`mount${i}`] = await ctx.opts.context.digest(await ctx.opts.context.select([rel], ctx.where(m.spec)));
        }
        mounts.push({ type: 'bind', target, from, source, readwrite: !m.readOnly });
        break;
      }
      case 'cache':
        if (!target) throw new UserError('--mount=type=cache needs a target', ctx.where(m.spec));
        mounts.push({ type: 'cache', target, id: m.id !== undefined ? x(m.id) : target, sharing: m.sharing ?? 'shared', readonly: m.readOnly, mode, uid, gid });
        break;
      case 'tmpfs':
        if (!target) throw new UserError('--mount=type=tmpfs needs a target', ctx.where(m.spec));
        mounts.push({ type: 'tmpfs', target, ...(m.size !== undefined && { size: m.size }) });
        break;
      case 'secret': {
        const id = m.id !== undefined ? x(m.id) : target !== undefined ? posix.basename(target) : '';
        if (id === '') throw new UserError('--mount=type=secret needs an id or a target', ctx.where(m.spec));
        const secretTarget = m.env === undefined || target !== undefined ? (target ?? `/run/secrets/${id}`) : undefined;
        mounts.push({ type: 'secret', id, ...(secretTarget !== undefined && { target: secretTarget }), ...(m.env !== undefined && { env: x(m.env) }), required: m.required, mode, uid, gid });
        break;
      }
      case 'ssh': {
        const id = m.id !== undefined ? x(m.id) : 'default';
        const n = mounts.filter((x) => x.type === 'ssh').length;
        mounts.push({ type: 'ssh', id, target: target ?? `/run/buildkit/ssh_agent.${n}`, required: m.required, mode, uid, gid });
        break;
      }
    }
  }
  return {
    op: {
      op: 'run',
      args: argv,
      env: state.runEnv(args.values),
      user: state.user(),
      workdir: state.workdir(),
      network: ins.network === 'default' ? (ctx.opts.defaultNetwork ?? 'default') : ins.network,
      mounts,
      files,
    },
    inputs,
    parents,
  };
}

async function planCopy(
  ins: CopyLikeInstruction,
  state: StageState,
  env: ReadonlyMap<string, string>,
  ctx: StageContext,
  sourceRoot: (ref: string, ins: Instruction, sources: string[]) => Promise<{ root: SourceRoot; key: string; parents: string[] }>,
): Promise<{ op: Extract<StepOp, { op: 'copy' }>; inputs: Record<string, string>; parents: string[]; createdBy: string; name: string }> {
  const esc = ctx.df.escapeChar;
  const x = (w: Word): string => expandAt(w, env, esc, ctx.where);
  const isUrl = (s: string): boolean => ins.kind === 'ADD' && /^https?:\/\//i.test(s);
  const allSources = ins.paths.map(x);
  if (ins.kind === 'ADD' && allSources.some((s) => /^git:\/\/|^git@|\.git(#.*)?$/.test(s))) {
    throw new UserError('ADD from a Git repository is not supported yet', ctx.where(ins));
  }
  const sources = allSources.filter((s) => !isUrl(s));
  const checksum = ins.checksum ? x(ins.checksum) : undefined;
  if (checksum !== undefined && !allSources.every(isUrl)) throw new UserError('ADD --checksum is only for URL sources', ctx.where(ins.checksum ?? ins));
  const where = ctx.where(ins);
  const urls = await Promise.all(
    allSources.filter(isUrl).map((u) =>
      ctx.opts.fetchUrl(u, checksum).catch((e: unknown) => {
        throw e instanceof UserError && !e.location ? new UserError(e.message, where) : e;
      }),
    ),
  );
  const inline: InlineFile[] = ins.heredocs.map((d) => ({ name: d.name, content: d.expand ? expandWord(d.content, env, esc) : d.content }));
  const rawDest = x(ins.dest);
  const dest = posix.resolve(state.workdir(), rawDest) + (rawDest.endsWith('/') && rawDest !== '/' ? '/' : '');
  const chown = ins.chown ? x(ins.chown) : undefined;
  const chmod = ins.chmod ? x(ins.chmod) : undefined;
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod) && !/^([ugoa]*[-+=][rwxXst]*)(,[ugoa]*[-+=][rwxXst]*)*$/.test(chmod)) {
    throw new UserError(`invalid --chmod=${chmod}: expected an octal mode (0755) or a symbolic one (u=rwX,go=rX)`, ctx.where(ins.chmod ?? ins));
  }
  const inputs: Record<string, string> = {};
  const parents: string[] = [];
  let from: SourceRoot = { kind: 'context' };
  const fromRef = ins.from ? x(ins.from) : undefined;
  if (fromRef !== undefined) {
    const r = await sourceRoot(fromRef, ins, sources);
    from = r.root;
    inputs.from = r.key;
    parents.push(...r.parents);
  } else if (sources.length > 0) {
    inputs.context = await ctx.opts.context.digest(await ctx.opts.context.select(sources, ctx.where(ins)));
  }
  if (inline.length > 0) inputs.inline = cacheKey(inline.map((f) => ({ name: f.name, content: f.content })));
  urls.forEach((u, i) => (inputs[`url${i}`] = u.digest));
  const exclude = ins.exclude.map(x);
  // BuildKit's history line names no --from
  const flags = [
    ...(ins.parents ? ['--parents'] : []),
    ...(chown !== undefined ? [`--chown=${chown}`] : []),
    ...(chmod !== undefined ? [`--chmod=${chmod}`] : []),
    ...(ins.link ? ['--link'] : []),
    ...exclude.map((e) => `--exclude=${e}`),
  ];
  const shownSources = [...allSources, ...inline.map((f) => `<<${f.name}`)];
  const createdBy = `${ins.kind} ${[...flags, ...shownSources, rawDest].join(' ')}`;
  const name = fromRef !== undefined ? `${ins.kind} --from=${fromRef} ${createdBy.slice(ins.kind.length + 1)}` : createdBy;
  return {
    op: {
      op: 'copy',
      add: ins.kind === 'ADD',
      from,
      sources,
      inline,
      urls,
      ...(ins.unpack !== undefined && { unpack: ins.unpack }),
      dest,
      ...(chown !== undefined && { chown }),
      ...(chmod !== undefined && { chmod }),
      link: ins.link,
      parents: ins.parents,
      exclude,
    },
    inputs,
    parents,
    createdBy,
    name,
  };
}

/** The operation as it goes into a key: a source image stands for its manifest digest. */
function keyView(op: StepOp): KeyInput {
  return JSON.parse(
    JSON.stringify(op, (k, v: unknown) => (k === 'image' && typeof v === 'object' && v !== null ? (v as ResolvedImage).manifest.digest : v)),
  ) as KeyInput;
}

/** The id of the last vertex of a planned stage (through its base stages), if it has any. */
function lastVertexOf(planned: ReadonlyMap<number, StagePlan>, stage: number): string | undefined {
  const s = planned.get(stage);
  if (!s) return undefined;
  return s.steps.at(-1)?.id ?? (s.base.kind === 'stage' ? lastVertexOf(planned, s.base.stage) : undefined);
}

function describeCommand(cmd: CommandForm, argv: readonly string[]): string {
  return cmd.form === 'shell' ? cmd.script.value : goQuotedList(argv);
}

/** Expands a word, giving a location to expansion errors (`${X:?msg}`). */
export function expandAt(w: Word, env: ReadonlyMap<string, string>, esc: Dockerfile['escapeChar'], where: Locate): string {
  try {
    return expandWord(w.value, env, esc);
  } catch (e) {
    if (e instanceof UserError && !e.location) throw new UserError(e.message, where(w));
    throw e;
  }
}

