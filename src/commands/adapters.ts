import type { Generation } from '../generation/generatePipeline.js';
import type { ArmReport, FeedbackInput as LearnerFeedbackInput } from '../learning/Learner.js';
import type { ArmView, GeneratedPipeline, LearnerPort, RecordedRunView } from './CommandDeps.js';

/**
 * The mapping from the generator's and the learner's own types to the narrow ports the runners use.
 * Pure; the composition root calls them (see README "wiring").
 */

const SOURCE_NAMES: Record<string, string> = { reinforcement_learning: 'learned' };

/** A `Generation` as a proposal; `arm` (the learner's report for the chosen hash) adds the interval. */
export function toGeneratedPipeline(g: Generation, arm?: ArmReport | null): GeneratedPipeline {
  const llmLine = g.llm ? [g.llm.message] : [];
  const alt = g.llm?.alternative;
  const alternatives: GeneratedPipeline[] = alt
    ? [
        {
          language: g.language,
          framework: g.framework,
          source: 'llm',
          sourceLabel: alt.label,
          evidence: [
            'Adapted by a local LLM, then validated and checked against the allowlist policy; it starts from Beta(1,1) and has no runs yet',
            ...g.evidence.map((e) => `${e.detail || e.fact} (${inlineFile(e.file)})`),
          ],
          confidence: { mean: 0.5, low: 0.05, high: 0.95, runs: 0 },
          config: alt.config,
          dockerfile: alt.dockerfile ?? null,
          decisionId: null,
          hash: alt.hash,
          validation: { valid: true, errors: [], warnings: [] },
        },
      ]
    : [];
  return {
    ...(alternatives.length ? { alternatives } : {}),
    language: g.language,
    framework: g.framework,
    source: SOURCE_NAMES[g.source] ?? g.source,
    sourceLabel: g.label || null,
    evidence: [
      ...llmLine,
      ...(g.tests.length === 0
        ? ['No tests found: the proposal has no test job, and its confidence starts from Beta(1,1)']
        : []),
      ...g.evidence.map((e) => `${e.detail || e.fact} (${inlineFile(e.file)})`),
    ],
    // the stored arm report knows only the source's prior; an untested arm's posterior comes from the choice
    confidence:
      g.untested && g.confidenceDetail
        ? g.confidenceDetail
        : arm
          ? { mean: arm.mean, low: arm.low, high: arm.high, runs: arm.runs }
          : { mean: g.confidence, low: g.confidence, high: g.confidence, runs: 0 },
    config: g.config,
    dockerfile: g.dockerfile,
    decisionId: g.decisionId,
    hash: g.hash,
    validation: g.lint
      ? { valid: g.lint.valid, errors: g.lint.errors, warnings: [...g.lint.warnings, ...g.warnings] }
      : { valid: true, errors: [], warnings: g.warnings },
  };
}

function inlineFile(file: string): string {
  return file.startsWith('(') ? file : `\`${file}\``;
}

export function toArmView(a: ArmReport): ArmView {
  const state = a.banned ? ', banned' : a.broken ? ', broken' : '';
  return {
    hash: a.hash,
    source: a.source,
    label: `${a.successes}/${a.runs} passed${state}`,
    runs: a.runs,
    mean: a.mean,
    low: a.low,
    high: a.high,
    lastEvidence: a.lastEvidence ?? null,
  };
}

/** The learner's methods as the commands' port: user ids become strings, reports become views. */
export function toLearnerPort(learner: {
  feedback(input: LearnerFeedbackInput): Promise<unknown>;
  arms(context: { tenant: string | null; language: string; framework: string }): Promise<ArmReport[]>;
  attachReward(decisionId: string, pipelineId: number): Promise<unknown>;
  runEvidence?(pipelineId: number): Promise<string | null>;
  recordedRun?(pipelineId: number): Promise<RecordedRunView | null>;
}): LearnerPort {
  return {
    async feedback(input) {
      await learner.feedback({ ...input, userId: String(input.userId) });
    },
    async arms(context) {
      return (await learner.arms(context)).map(toArmView);
    },
    async attachReward(decisionId, pipelineId) {
      await learner.attachReward(decisionId, pipelineId);
    },
    async runEvidence(pipelineId) {
      return learner.runEvidence ? learner.runEvidence(pipelineId) : null;
    },
    async recordedRun(pipelineId) {
      return learner.recordedRun ? learner.recordedRun(pipelineId) : null;
    },
  };
}
