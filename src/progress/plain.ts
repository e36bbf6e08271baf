import type { ProgressEvent, ProgressSink } from './events.ts';

/**
 * BuildKit-style plain progress for logs and CI: `#N LABEL`, `#N 0.123 line`,
 * `#N DONE 1.2s`, `#N CACHED`, `#N ERROR msg`. Times are seconds since the
 * build started.
 */
export function plainRenderer(write: (text: string) => void, now: () => number = () => performance.now()): ProgressSink {
  const t0 = now();
  return (e: ProgressEvent) => {
    switch (e.type) {
      case 'step-start':
        write(`#${e.id} ${e.label}\n`);
        break;
      case 'step-cached':
        write(`#${e.id} ${e.label}\n#${e.id} CACHED\n`);
        break;
      case 'step-output':
        write(`#${e.id} ${((now() - t0) / 1000).toFixed(3)} ${e.line}\n`);
        break;
      case 'step-done':
        write(`#${e.id} DONE ${e.seconds.toFixed(1)}s\n`);
        break;
      case 'step-error':
        write(`#${e.id} ERROR ${e.message}\n`);
        break;
      case 'info':
        write(`${e.message}\n`);
        break;
    }
  };
}
