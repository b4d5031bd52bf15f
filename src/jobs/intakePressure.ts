import { type EventLoopUtilization, performance } from 'node:perf_hooks';

export interface IntakePressureOptions {
  /** when the last webhook delivery arrived (epoch ms; 0 before the first) */
  lastAcceptedAt: () => number;
  /** intake counts as quiet once it has had no delivery this long */
  quietMs?: number;
  /** the event loop counts as saturated above this share of busy time in the last window */
  saturation?: number;
  /** how often the event loop's utilisation is sampled */
  windowMs?: number;
  now?: () => number;
  /** the event loop's utilisation in the last window, 0 to 1 (default: sampled from perf_hooks) */
  utilization?: () => number;
}

export interface IntakePressure {
  /** webhooks are arriving and the event loop has no time to spare: a worker in this process should yield */
  busy(): boolean;
  stop(): void;
}

/**
 * When a job worker shares the HTTP process, webhooks and jobs compete for one event loop. The worker
 * yields (see the Worker's `intakeBusy`) only while both hold: deliveries are arriving, and the loop
 * was saturated in the last window. A steady trickle of webhooks (tens per second) leaves the loop
 * room, so the worker keeps its full pace and the queue stays short; a burst saturates it, and then
 * acknowledgements go first.
 */
export function createIntakePressure(o: IntakePressureOptions): IntakePressure {
  const quietMs = o.quietMs ?? 200;
  const saturation = o.saturation ?? 0.9;
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | null = null;
  let utilization = o.utilization;
  if (!utilization) {
    let last: EventLoopUtilization = performance.eventLoopUtilization();
    let recent = 0;
    timer = setInterval(() => {
      const current = performance.eventLoopUtilization();
      recent = performance.eventLoopUtilization(current, last).utilization;
      last = current;
    }, o.windowMs ?? 250);
    timer.unref();
    utilization = () => recent;
  }
  const sample = utilization;
  return {
    busy: () => now() - o.lastAcceptedAt() < quietMs && sample() > saturation,
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
