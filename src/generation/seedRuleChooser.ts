import type { ArmCandidate, Choice, ChooseOptions, Chooser, LearningContext } from '../learning/Chooser.js';

const ORDER = ['learned', 'translated', 'template', 'default', 'llm'] as const;

/**
 * Seed 000's rule, used until the learner is wired: the first priority group present wins
 * (arms arrive in priority order); among learned arms the one that passed most stages, then the
 * fastest. Logs nothing, so decisionId is null.
 */
export const seedRuleChooser: Chooser = {
  async choose(_context: LearningContext, arms: ArmCandidate[], options: ChooseOptions = {}): Promise<Choice> {
    if (arms.length === 0) throw new Error('seedRuleChooser: no candidates');
    const forced = options.forcedHash ? arms.find((a) => a.hash === options.forcedHash) : undefined;
    if (forced)
      return { arm: forced, decisionId: null, policy: 'seed', kind: 'forced', probability: 1, confidence: null };
    const source = ORDER.find((s) => arms.some((a) => a.source === s))!;
    let arm = arms.find((a) => a.source === source)!;
    if (source === 'learned') {
      for (const a of arms) {
        if (a.source !== 'learned') continue;
        const better =
          (a.stagesCount ?? 0) > (arm.stagesCount ?? 0) ||
          ((a.stagesCount ?? 0) === (arm.stagesCount ?? 0) && (a.lastDurationS ?? 9999) < (arm.lastDurationS ?? 9999));
        if (better) arm = a;
      }
    }
    return { arm, decisionId: null, policy: 'seed', kind: 'exploit', probability: 1, confidence: null };
  },
};
