import { describe, expect, it } from 'vitest';
import { toArmView, toGeneratedPipeline, toLearnerPort } from '../../src/commands/adapters.js';
import type { Generation } from '../../src/generation/generatePipeline.js';
import type { ArmReport } from '../../src/learning/Learner.js';

const report: ArmReport = {
  hash: 'c'.repeat(64),
  source: 'learned',
  runs: 5,
  successes: 4,
  effectiveRuns: 4.5,
  mean: 0.75,
  low: 0.5,
  high: 0.92,
  expectedReward: 0.7,
  broken: false,
  banned: false,
  gated: true,
  lastDurationS: 60,
  meanDurationS: 70,
  stagesCount: 3,
};

describe('adapters to the command ports', () => {
  it('maps a Generation to a proposal, with the interval from the learner when known', () => {
    const g = {
      language: 'python',
      framework: 'fastapi',
      evidence: [{ fact: 'framework=fastapi', file: 'pyproject.toml', detail: 'fastapi in dependencies' }],
      source: 'reinforcement_learning',
      confidence: 0.9,
      config: 'test:\n  script: [pytest]\n',
      dockerfile: null,
      decisionId: 'd-1',
      hash: report.hash,
      label: 'learned from acme/api pipeline 7',
      policy: 'thompson',
      lint: { valid: true, errors: [], warnings: [] },
      warnings: ['no lockfile'],
      tests: ['pytest'],
      untested: false,
      confidenceDetail: null,
    } as unknown as Generation;
    expect(toGeneratedPipeline(g, report)).toMatchObject({
      source: 'learned',
      sourceLabel: 'learned from acme/api pipeline 7',
      evidence: ['fastapi in dependencies (`pyproject.toml`)'],
      confidence: { mean: 0.75, low: 0.5, high: 0.92, runs: 5 },
      validation: { valid: true, errors: [], warnings: ['no lockfile'] },
    });
    expect(toGeneratedPipeline(g).confidence).toEqual({ mean: 0.9, low: 0.9, high: 0.9, runs: 0 });
  });

  it('passes feedback with string user ids and reports as views', async () => {
    const calls: unknown[] = [];
    const port = toLearnerPort({
      feedback: async (i) => calls.push(i),
      arms: async () => [{ ...report, broken: true }],
      attachReward: async (d, p) => calls.push([d, p]),
    });
    await port.feedback({ decisionId: 'd', userId: 12, kind: 'thumbs_up' });
    await port.attachReward('d', 99);
    expect(calls).toEqual([{ decisionId: 'd', userId: '12', kind: 'thumbs_up' }, ['d', 99]]);
    expect(await port.arms({ tenant: 'acme', language: 'python', framework: 'fastapi' })).toEqual([
      toArmView({ ...report, broken: true }),
    ]);
    expect(toArmView({ ...report, broken: true }).label).toBe('4/5 passed, broken');
  });
});
