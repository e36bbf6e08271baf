import type { PullProgress, PushProgress } from '../registry/client.ts';
import type { ProgressSink } from './events.ts';

/** Byte counts of one blob are passed on at most this often (ms); starts and ends always are. */
const THROTTLE_MS = 100;

function throttled(now: () => number): (id: string, emit: () => void) => void {
  const lastAt = new Map<string, number>();
  return (id, emit) => {
    const t = now();
    const prev = lastAt.get(id);
    if (prev !== undefined && t - prev < THROTTLE_MS) return;
    lastAt.set(id, t);
    emit();
  };
}

/** The registry client's pull reports for the image `name`, as progress events (`onProgress` of pullImage). */
export function pullEvents(sink: ProgressSink, name: string, now: () => number = () => performance.now()): (e: PullProgress) => void {
  const limit = throttled(now);
  return (e) => {
    switch (e.type) {
      case 'manifest':
        sink({ type: 'info', message: `${name}: manifest ${e.descriptor.digest}` });
        break;
      case 'layer-progress':
        limit(e.digest, () => sink({ type: 'transfer', id: e.digest, action: 'pull', name, bytes: e.received, total: e.size }));
        break;
      case 'layer-cached':
        sink({ type: 'transfer-done', id: e.digest, action: 'pull', name, bytes: e.size, how: 'cached' });
        break;
      case 'layer-done':
        sink({ type: 'transfer-done', id: e.digest, action: 'pull', name, bytes: e.size, how: 'sent' });
        break;
    }
  };
}

/** The registry client's push reports, as progress events (`onProgress` of pushImage). */
export function pushEvents(sink: ProgressSink, now: () => number = () => performance.now()): (e: PushProgress) => void {
  const limit = throttled(now);
  return (e) => {
    switch (e.type) {
      case 'blob-progress':
        limit(`${e.repository} ${e.digest}`, () => sink({ type: 'transfer', id: e.digest, action: 'push', name: e.repository, bytes: e.sent, total: e.size }));
        break;
      case 'blob-exists':
        sink({ type: 'transfer-done', id: e.digest, action: 'push', name: e.repository, bytes: e.size, how: 'exists' });
        break;
      case 'blob-mounted':
        sink({ type: 'transfer-done', id: e.digest, action: 'push', name: e.repository, bytes: e.size, how: 'mounted', from: e.from });
        break;
      case 'blob-done':
        sink({ type: 'transfer-done', id: e.digest, action: 'push', name: e.repository, bytes: e.size, how: 'sent' });
        break;
      case 'manifest':
        sink({ type: 'info', message: `${e.ref}: digest ${e.descriptor.digest} size ${e.descriptor.size}` });
        break;
    }
  };
}
