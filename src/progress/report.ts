import type { BuildSummary } from './events.ts';
import type { StepState } from './state.ts';
import { humanSeconds, humanSize } from './units.ts';

/**
 * What a failed step leaves on screen once the build has stopped, as
 * BuildKit shows it: the step, its last output lines and its exit code
 * between rulers.
 *
 * ```
 * ------
 *  > [stage-0 2/2] RUN make:
 * cc: error: x.c: No such file
 * exit code: 2
 * ------
 * ```
 */
export function failureLines(step: StepState): string[] {
  return [
    '------',
    ` > ${step.label}:`,
    ...step.tail,
    ...(step.exitCode !== undefined ? [`exit code: ${step.exitCode}`] : []),
    '------',
  ];
}

/**
 * The final summary of a successful build:
 *
 * ```
 * built sha256:6f4e…628 in 1.2s: 4 layers, 1.23MB, 3 of 5 steps cached
 * named tsbuild.local/hello:latest
 * ```
 *
 * `short` gives the digest's first 12 hex digits only (the tty view, whose
 * lines should fit a terminal; stdout has the whole digest anyway).
 */
export function summaryLines(s: BuildSummary, opts: { short?: boolean } = {}): string[] {
  const layers = `${s.layers} layer${s.layers === 1 ? '' : 's'}`;
  const digest = opts.short ? s.manifest.slice(0, 'sha256:'.length + 12) : s.manifest;
  const lines = [`built ${digest} in ${humanSeconds(s.seconds)}: ${layers}, ${humanSize(s.size)}, ${s.cached} of ${s.steps} steps cached`];
  if (s.names.length > 0) lines.push(`named ${s.names.join(', ')}`);
  return lines;
}
