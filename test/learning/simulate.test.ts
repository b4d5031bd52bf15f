import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/learning/Rng.js';
import { parseScenario, simulate, simulateOutcome } from '../../src/learning/simulate.js';

const scenario = (over: object = {}) =>
  parseScenario({
    seed: 42,
    rounds: 600,
    repetitions: 3,
    contexts: [
      {
        language: 'go',
        framework: 'generic',
        weight: 1,
        arms: [
          { id: 'a', source: 'default', p_success: 0.7, duration_s: 300 },
          { id: 'b', source: 'template', p_success: 0.9, duration_s: 300, breaks_at: 300, p_after: 0.1 },
        ],
      },
    ],
    ...over,
  });

describe('simulation', () => {
  it('is deterministic for a seed and reports every policy', () => {
    const a = simulate(scenario());
    const b = simulate(scenario());
    expect(a).toEqual(b);
    expect(Object.keys(a.policies).sort()).toEqual(['epsilon_greedy', 'greedy', 'thompson', 'ucb1']);
    expect(simulate(scenario({ seed: 43 }))).not.toEqual(a);
  });
  it('on the shipped break scenario Thompson stops choosing the broken arm within 15 runs and halves greedy regret', () => {
    const s = parseScenario(
      JSON.parse(readFileSync(new URL('../../bench/scenarios/break.json', import.meta.url), 'utf8')),
    );
    const r = simulate(s);
    expect(r.policies.thompson.recovery_runs).toBeLessThanOrEqual(15);
    expect(r.policies.thompson.regret).toBeLessThanOrEqual(0.5 * r.policies.greedy.regret);
    expect(r.oracle_success_rate).toBeCloseTo((800 * 0.9 + 1200 * 0.7) / 2000, 6);
  });
  it('has zero regret when there is only one arm', () => {
    const r = simulate(
      parseScenario({
        seed: 1,
        rounds: 100,
        contexts: [{ language: 'go', arms: [{ id: 'x', p_success: 0.5 }] }],
      }),
    );
    for (const p of Object.values(r.policies)) expect(p.regret).toBe(0);
  });
  it('accepts the shipped scenarios', () => {
    for (const f of [
      'break',
      'many-arms',
      'duration',
      'code-failures',
      'runner-outages',
      'no-tests',
      'flaky',
      'wide',
    ]) {
      const s = parseScenario(
        JSON.parse(readFileSync(new URL(`../../bench/scenarios/${f}.json`, import.meta.url), 'utf8')),
      );
      expect(s.rounds).toBe(2000);
    }
  });
  it('rejects a malformed scenario', () => {
    expect(() =>
      parseScenario({ rounds: 10, contexts: [{ language: 'go', arms: [{ id: 'a', p_success: 2 }] }] }),
    ).toThrow();
  });
  it('draws outcomes by attribution class at the scenario’s rates', () => {
    const s = parseScenario({
      rounds: 1,
      contexts: [
        {
          language: 'go',
          arms: [
            { id: 'x', p_success: 0.8, tests: 10, p_code_failure: 0.25, p_runner_failure: 0.1, p_flaky: 0.5 },
            { id: 'y', p_success: 1, tests: 0 },
          ],
        },
      ],
    });
    const [x, y] = s.contexts[0].arms;
    const rng = createRng(3);
    const n = 40_000;
    const count: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const o = simulateOutcome(x, 0, false, rng);
      count[o.attribution] = (count[o.attribution] ?? 0) + 1;
    }
    // runner 0.1; broken 0.9·0.2; code-red 0.9·0.8·0.25 (works); green 0.9·0.8·0.75, half of it flaky
    expect(count.no_evidence / n).toBeCloseTo(0.1, 1);
    expect(count.broken / n).toBeCloseTo(0.18, 1);
    expect(count.flaky / n).toBeCloseTo(0.27, 1);
    expect(count.works / n).toBeCloseTo(0.18 + 0.27, 1);
    expect(simulateOutcome(y, 0, false, rng)).toEqual({ green: true, attribution: 'weak' });
    expect(simulateOutcome(y, 0, true, rng)).toEqual({ green: false, attribution: 'no_evidence' });
  });
  it('a scenario without the new fields sees only works and broken, the same under v1 and v2', () => {
    const a = simulate(scenario({ rounds: 200, repetitions: 1 }), undefined, 'v2');
    const b = simulate(scenario({ rounds: 200, repetitions: 1 }), undefined, 'v1');
    expect(a.outcomes.weak + a.outcomes.no_evidence + a.outcomes.flaky + a.outcomes.partial).toBe(0);
    expect(a.policies).toEqual(b.policies);
  });
  it('with attribution the learner prefers the tested configuration over an always-green one that runs no test', () => {
    const s = parseScenario(
      JSON.parse(readFileSync(new URL('../../bench/scenarios/no-tests.json', import.meta.url), 'utf8')),
    );
    const short = { ...s, rounds: 400, repetitions: 2 };
    const v2 = simulate(short, undefined, 'v2');
    const v1 = simulate(short, undefined, 'v1');
    expect(v2.policies.thompson.runs_to_best).toBeLessThan(300);
    expect(v1.policies.thompson.runs_to_best).toBe(400);
  });
});
