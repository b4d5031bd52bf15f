import { describe, expect, it } from 'vitest';
import { createIntakePressure } from '../../src/jobs/intakePressure.js';

describe('intake pressure (when a worker in the HTTP process yields)', () => {
  it('is saturated only while deliveries arrive and the event loop has no time to spare', () => {
    let t = 10_000;
    let last = 0;
    let elu = 0;
    const p = createIntakePressure({ lastAcceptedAt: () => last, now: () => t, utilization: () => elu, quietMs: 200 });
    elu = 1;
    expect(p.level()).toBe('quiet'); // saturated, but no delivery yet: the worker alone is busy
    last = t - 50;
    expect(p.level()).toBe('saturated');
    elu = 0.4; // a steady trickle of webhooks leaves the loop room
    expect(p.level()).toBe('arriving');
    elu = 0.95;
    t += 250; // intake has been quiet for 300 ms
    expect(p.level()).toBe('quiet');
    p.stop();
  });

  it('samples the real event loop: a blocked loop counts as saturated', async () => {
    const p = createIntakePressure({ lastAcceptedAt: () => Date.now(), windowMs: 50 });
    await new Promise((r) => setTimeout(r, 120));
    expect(p.level()).toBe('arriving'); // idle while waiting
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // hold the loop, as a burst of deliveries and jobs would
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(p.level()).toBe('saturated');
    p.stop();
  });
});
