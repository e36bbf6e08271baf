import type { StagePlan } from './plan.ts';

/**
 * How progress output names step `i` of `stage`: `[NAME i/N] INSTRUCTION`,
 * the stage named by its `AS` name, else `stage-INDEX`.
 */
export function stepLabel(stage: StagePlan, i: number): string {
  return `[${stage.name ?? `stage-${stage.index}`} ${i + 1}/${stage.steps.length}] ${stage.steps[i]?.name ?? ''}`;
}
