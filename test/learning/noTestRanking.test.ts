import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { armStats } from '../../src/learning/ArmStats.js';
import type { ArmSource } from '../../src/learning/Chooser.js';
import { DEFAULT_LEARNER_OPTIONS } from '../../src/learning/LearnerOptions.js';
import { posteriorMeanReward } from '../../src/learning/policies.js';
import { addRun, emptyArm } from '../../src/learning/posterior.js';
import { leaderIndex } from '../../src/learning/thompsonPropensities.js';

const opts = DEFAULT_LEARNER_OPTIONS;
const sources: ArmSource[] = ['template', 'default', 'learned', 'llm'];

/**
 * Two configurations of one context share a run clock. `noTest` only ever ran green without a test
 * (weak evidence); `tested` ran its suite every time — green, or red because the code's tests failed.
 */
function rank(
  source: ArmSource,
  schedule: ('weak' | 'green' | 'code-red')[],
  durations: { weak: number; tested: number },
  stages: { weak: number; tested: number },
) {
  let noTest = emptyArm('n', source);
  let tested = emptyArm('t', source);
  let slot = 0;
  for (const step of schedule) {
    slot += 1;
    if (step === 'weak') {
      noTest = addRun(
        noTest,
        {
          hash: 'n',
          slot,
          success: true,
          durationS: durations.weak,
          stagesCount: stages.weak,
          attribution: 'weak',
        },
        opts,
      );
    } else {
      tested = addRun(
        tested,
        {
          hash: 't',
          slot,
          success: step === 'green',
          durationS: durations.tested,
          stagesCount: stages.tested,
          attribution: 'works',
        },
        opts,
      );
    }
  }
  const stats = [armStats(noTest, slot, opts), armStats(tested, slot, opts)];
  return {
    noTest: posteriorMeanReward(stats[0]),
    tested: posteriorMeanReward(stats[1]),
    // the arm Thompson sampling (v4) keeps unless a challenger beats it by more than ε
    leader: leaderIndex(stats) === 1 ? 'tested' : 'noTest',
  };
}

const scheduleArb = (minTested: number) =>
  fc
    .tuple(
      fc.array(fc.constant('weak' as const), { minLength: 1, maxLength: 200 }),
      fc.array(fc.constantFrom('green' as const, 'code-red' as const), { minLength: minTested, maxLength: 200 }),
      fc.integer({ min: 0, max: 1_000_000 }),
    )
    .map(([weak, tested, seed]) => {
      // interleave deterministically from the seed
      const out: ('weak' | 'green' | 'code-red')[] = [];
      let i = 0;
      let j = 0;
      let s = seed;
      while (i < weak.length || j < tested.length) {
        s = (s * 1103515245 + 12345) >>> 0;
        if (j >= tested.length || (i < weak.length && s & 1)) out.push(weak[i++]);
        else out.push(tested[j++]);
      }
      return out;
    });

describe('a configuration that only ever runs no tests never outranks a tested passing one (property)', () => {
  it('with the same duration and stages, after one tested run', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        scheduleArb(1),
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 0, max: 12 }),
        (source, schedule, duration, stages) => {
          const r = rank(source, schedule, { weak: duration, tested: duration }, { weak: stages, tested: stages });
          expect(r.tested).toBeGreaterThan(r.noTest);
          expect(r.leader).toBe('tested');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('whatever the durations (up to an hour) and stage counts, after three tested runs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        scheduleArb(3),
        fc.record({ weak: fc.integer({ min: 0, max: 3600 }), tested: fc.integer({ min: 0, max: 3600 }) }),
        fc.record({ weak: fc.integer({ min: 0, max: 12 }), tested: fc.integer({ min: 0, max: 12 }) }),
        (source, schedule, durations, stages) => {
          const r = rank(source, schedule, durations, stages);
          expect(r.tested).toBeGreaterThan(r.noTest);
          expect(r.leader).toBe('tested');
        },
      ),
      { numRuns: 300 },
    );
  });
});
