import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBusyboxLayout, pushBase } from './base-image.ts';
import { startRegistry, type TestRegistry } from './registry.ts';
import { fixture, tempDir, tsbuild } from './tsbuild.ts';

interface HistoryJson {
  created_by?: string;
  empty_layer?: boolean;
}

interface Expected {
  config: Record<string, unknown>;
  author?: string;
  history: HistoryJson[];
}

interface PlannedStage {
  index: number;
  base: { kind: 'scratch' } | { kind: 'stage'; stage: number } | { kind: 'image'; image: { config: { history?: HistoryJson[] } } };
  config: Record<string, unknown>;
  author?: string;
  history: { entry: HistoryJson; step?: number }[];
}

interface PlanJson {
  target: number;
  stages: PlannedStage[];
}

/** The image history the target stage will have: its base's, then one entry per planned instruction. */
function fullHistory(plan: PlanJson, index: number): { created_by?: string; empty_layer?: boolean; fromStep: boolean }[] {
  const stage = plan.stages.find((s) => s.index === index);
  assert.ok(stage, `stage ${index} is planned`);
  const base =
    stage.base.kind === 'image'
      ? (stage.base.image.config.history ?? []).map((h) => ({ ...h, fromStep: false }))
      : stage.base.kind === 'stage'
        ? fullHistory(plan, stage.base.stage)
        : [];
  return [...base, ...stage.history.map((h) => ({ created_by: h.entry.created_by, ...(h.step === undefined && { empty_layer: true }), fromStep: h.step !== undefined }))];
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => [k, withoutNulls(x)]));
  return v;
}

/** Where tsbuild deliberately differs from the recorded BuildKit history: it redacts secret-looking build args. */
function redact(createdBy: string | undefined): string | undefined {
  return createdBy?.replace(/\b(\w*(?:TOKEN|PASSWORD|PASSWD|SECRET|KEY)\w*)=(\S*)/gi, '$1=<redacted>');
}

/**
 * One planner topic: plans `fixtures/planner/<topic>/Dockerfile` with
 * `tsbuild plan` (no container runs) over the busybox base in a real
 * registry, and compares the target stage's image config and history with
 * what BuildKit produced for the same Dockerfile (`expected.json`, recorded
 * by scripts/record-planner-expectations.ts).
 */
export function describePlannedConfig(topic: string): void {
  describe(`planned image config: ${topic}`, () => {
    let work: { path: string; cleanup: () => Promise<void> };
    let registry: TestRegistry;
    let plan: PlanJson;
    let expected: Expected;

    before(async () => {
      work = await tempDir();
      registry = await startRegistry();
      await pushBase(registry.host, await makeBusyboxLayout(join(work.path, 'base')));
      const dir = fixture('planner', topic);
      const ctx = (await stat(join(dir, 'ctx')).catch(() => undefined)) ? join(dir, 'ctx') : join(work.path, 'empty');
      await mkdir(ctx, { recursive: true });
      const extra = (await readFile(join(dir, 'build-args'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
      const args = ['plan', '--json', '-f', join(dir, 'Dockerfile'), '--build-arg', `BASE=${registry.host}/busybox:1.35`, ...extra.flatMap((a) => ['--build-arg', a]), ctx];
      const r = await tsbuild(join(work.path, 'root'), args);
      assert.equal(r.code, 0, r.stderr);
      plan = JSON.parse(r.stdout) as PlanJson;
      expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expected;
    });
    after(async () => {
      await registry.stop();
      await work.cleanup();
    });

    it('has the config BuildKit produces', () => {
      const target = plan.stages.find((s) => s.index === plan.target);
      const { ArgsEscaped: _ignored, ...want } = expected.config;
      assert.deepEqual(withoutNulls(target?.config), withoutNulls(want));
      assert.equal(target?.author, expected.author);
    });

    it('has the history BuildKit writes', () => {
      const ours = fullHistory(plan, plan.target);
      assert.deepEqual(
        ours.map((h) => h.created_by),
        expected.history.map((h) => redact(h.created_by)),
      );
      // a filesystem step's empty_layer is only known once it ran; metadata steps are always empty
      ours.forEach((h, i) => {
        if (!h.fromStep) assert.equal(h.empty_layer, expected.history[i]?.empty_layer, `history[${i}] ${h.created_by}`);
      });
    });
  });
}
