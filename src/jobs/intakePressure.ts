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

/**
 * `quiet`: no delivery lately; `arriving`: deliveries are arriving and the event loop has room;
 * `saturated`: deliveries are arriving and the loop has no time to spare.
 */
export type IntakeLevel = 'quiet' | 'arriving' | 'saturated';

export interface IntakePressure {
  level(): IntakeLevel;
  stop(): void;
}

/**
 * When a job worker shares the HTTP process, webhooks and jobs compete for one event loop (and, on a
 * small machine, for the cores the database needs too). The worker (its `intake` option) runs at full
 * concurrency only while intake is quiet, at a few jobs at once while deliveries arrive, and one job
 * at a time with rests while they saturate the loop: a burst is acknowledged first, and the queue it
 * leaves drains at full pace once it is over.
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
    level: () => (now() - o.lastAcceptedAt() >= quietMs ? 'quiet' : sample() > saturation ? 'saturated' : 'arriving'),
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
