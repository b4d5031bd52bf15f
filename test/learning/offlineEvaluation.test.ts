import { describe, expect, it } from 'vitest';
import type { ArmStats } from '../../src/learning/ArmStats.js';
import { type DecisionRecord, decisionFromJsonLine, decisionToJsonLine } from '../../src/learning/DecisionRecord.js';
import { offlineCoverage, trueValue } from '../../src/learning/offlineCoverage.js';
import { evaluateOffline } from '../../src/learning/offlineEvaluation.js';
import { POLICIES } from '../../src/learning/policies.js';
import { createRng } from '../../src/learning/Rng.js';
import { rewardParts } from '../../src/learning/reward.js';
import { logDecisions, parseScenario } from '../../src/learning/simulate.js';

const arms: ArmStats[] = [
  {
    hash: 'a'.repeat(64),
    source: 'template',
    alpha: 40,
    beta: 5,
    successes: 38,
    failures: 4,
    pulls: 42,
    durationS: 300,
    stagesCount: 4,
  },
  {
    hash: 'b'.repeat(64),
    source: 'default',
    alpha: 10,
    beta: 10,
    successes: 9,
    failures: 9,
    pulls: 18,
    durationS: 300,
    stagesCount: 4,
  },
];
const pSuccess = [0.9, 0.5];

/** A uniform logging policy over two arms with known success rates. */
function log(n: number, seed: number): DecisionRecord[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const k = rng.next() < 0.5 ? 0 : 1;
    const success = rng.next() < pSuccess[k];
    return {
      id: `d${i}`,
      at: new Date(0).toISOString(),
      policy: 'uniform',
      policyVersion: '1',
      context: { tenant: 't', language: 'go', framework: 'generic' },
      contextRuns: 10_000,
      arms,
      probabilities: [0.5, 0.5],
      chosenHash: arms[k].hash,
      kind: 'explore',
      propensity: 0.5,
      pipelineId: i,
      reward: rewardParts({ success, durationS: 300, stagesCount: 4 }),
    };
  });
}

describe('offline evaluation', () => {
  it('IPS and SNIPS recover the value of a deterministic policy, with an interval around it', () => {
    const truth = rewardParts({ success: true, durationS: 300, stagesCount: 4 }).reward * 0.9 - 0.0083333 * 0.1;
    const r = evaluateOffline(log(4000, 5), POLICIES.greedy, { bootstrap: 300 });
    expect(r.decisions).toBe(4000);
    expect(r.ips.value).toBeCloseTo(truth, 1);
    expect(r.snips.value).toBeCloseTo(truth, 1);
    expect(r.snips.low).toBeLessThan(truth);
    expect(r.snips.high).toBeGreaterThan(truth);
    expect(r.ips.low).toBeLessThan(r.ips.value);
    expect(r.logged).toBeLessThan(r.snips.value);
  });
  it('skips forced and unrewarded decisions; is reproducible', () => {
    const d = log(50, 1);
    d[0] = { ...d[0], kind: 'forced' };
    d[1] = { ...d[1], reward: null };
    const a = evaluateOffline(d, POLICIES.thompson, { bootstrap: 100 });
    expect(a.decisions).toBe(48);
    expect(evaluateOffline(d, POLICIES.thompson, { bootstrap: 100 })).toEqual(a);
  });
  it('the JSON lines export round-trips', () => {
    const [d] = log(1, 2);
    const line = decisionToJsonLine(d);
    expect(JSON.parse(line)).toMatchObject({
      format: 'pipeline-learner.decision/1',
      reward_formula: 'v1',
      chosen: d.chosenHash,
    });
    const back = decisionFromJsonLine(line);
    expect(back).toEqual(d);
  });
  it('reports the effective sample size and warns when the logged propensities are too small', () => {
    const logged = log(400, 3);
    const healthy = evaluateOffline(logged, POLICIES.greedy, { bootstrap: 50 });
    // uniform logging, deterministic target on arm a: w ∈ {0, 2}, so ESS = (2m)²/(4m) = m, the choices of a
    const m = logged.filter((d) => d.chosenHash === arms[0].hash).length;
    expect(healthy.effectiveSampleSize).toBeCloseTo(m, 9);
    expect(healthy.warnings).toEqual([]);
    // the same decisions, a few of them logged with a tiny propensity for the arm the target picks
    const skewed = log(400, 3).map((d, i) => {
      if (d.chosenHash !== arms[0].hash || i % 10 !== 0) return d;
      return { ...d, probabilities: [0.002, 0.998], propensity: 0.002 };
    });
    const r = evaluateOffline(skewed, POLICIES.greedy, { bootstrap: 50 });
    expect(r.effectiveSampleSize).toBeLessThan(healthy.effectiveSampleSize);
    expect(r.minPropensity).toBe(0.002);
    expect(r.warnings.join()).toMatch(/effective sample size/);
  });
});

describe('offline evaluation against a known truth (simulation)', () => {
  const scenario = parseScenario({
    seed: 11,
    rounds: 200,
    contexts: [
      {
        language: 'go',
        arms: [
          { id: 'good', source: 'template', p_success: 0.85, duration_s: 400, tests: 120, p_code_failure: 0.2 },
          { id: 'fast', source: 'default', p_success: 0.75, duration_s: 150, tests: 40 },
          { id: 'no-tests', source: 'default', p_success: 0.95, duration_s: 100, tests: 0 },
        ],
      },
    ],
  });

  it('the true value is Σₐ π(a|x)·μ(a|x) averaged over the logged contexts', () => {
    const logged = logDecisions(scenario, 'thompson', 1);
    expect(logged.length).toBe(200);
    const manual =
      logged.reduce((s, d) => {
        const pi = POLICIES.greedy.probabilities(d.arms, d.contextRuns);
        return s + pi.reduce((t, p, a) => t + p * d.truth[a], 0);
      }, 0) / logged.length;
    expect(trueValue(logged, 'greedy')).toBeCloseTo(manual, 12);
  });

  it('IPS and SNIPS intervals hold the true value in most replications', () => {
    const r = offlineCoverage(scenario, { logging: 'thompson', target: 'greedy', replications: 20, bootstrap: 300 });
    expect(r.ips.coverage).toBeGreaterThanOrEqual(0.8);
    expect(r.snips.coverage).toBeGreaterThanOrEqual(0.8);
    expect(Math.abs(r.snips.bias)).toBeLessThan(0.05);
  });
});
