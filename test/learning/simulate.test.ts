import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario, simulate } from '../../src/learning/simulate.js';

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
    for (const f of ['break', 'many-arms', 'duration']) {
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
});
