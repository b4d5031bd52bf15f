import { describe, expect, it } from 'vitest';
import type { ArmStats } from '../../src/learning/ArmStats.js';
import { type DecisionRecord, decisionFromJsonLine, decisionToJsonLine } from '../../src/learning/DecisionRecord.js';
import { evaluateOffline } from '../../src/learning/offlineEvaluation.js';
import { POLICIES } from '../../src/learning/policies.js';
import { createRng } from '../../src/learning/Rng.js';
import { rewardParts } from '../../src/learning/reward.js';

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
});
