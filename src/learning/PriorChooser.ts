import { armStats } from './ArmStats.js';
import { betaInterval } from './betaMath.js';
import type { ArmCandidate, Choice, ChooseOptions, Chooser, LearningContext } from './Chooser.js';
import { DEFAULT_LEARNER_OPTIONS } from './LearnerOptions.js';
import { isPolicyName, POLICIES } from './policies.js';
import { emptyArm } from './posterior.js';
import { type Rng, randomRng } from './Rng.js';

/**
 * A Chooser for when no store is available (the embedded store is held by another process): it
 * chooses on the source priors alone and logs nothing (`decisionId: null`).
 */
export class PriorChooser implements Chooser {
  constructor(private readonly rng: Rng = randomRng()) {}

  async choose(_context: LearningContext, candidates: ArmCandidate[], options: ChooseOptions = {}): Promise<Choice> {
    if (candidates.length === 0) throw new Error('there is no candidate configuration to choose from');
    const policyName = options.policy && isPolicyName(options.policy) ? options.policy : 'thompson';
    const stats = candidates.map((c) =>
      armStats(emptyArm(c.hash, c.source), 0, DEFAULT_LEARNER_OPTIONS, null, {
        durationS: c.lastDurationS ?? null,
        stagesCount: c.stagesCount ?? null,
        untested: c.untested ?? false,
      }),
    );
    const forced = options.forcedHash
      ? candidates.findIndex((c) => c.hash.startsWith(options.forcedHash!.toLowerCase()))
      : -1;
    const picked = POLICIES[policyName].choose(stats, 0, this.rng);
    const index = forced >= 0 ? forced : picked.index;
    const s = stats[index];
    const { low, high } = betaInterval(s.alpha, s.beta, 0.9);
    return {
      arm: candidates[index],
      decisionId: null,
      policy: policyName,
      kind: forced >= 0 ? 'forced' : picked.kind,
      probability: forced >= 0 ? 1 : picked.probabilities[index],
      confidence: { mean: s.alpha / (s.alpha + s.beta), low, high, runs: 0 },
    };
  }
}
