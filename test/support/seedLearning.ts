import type { Db } from '../../src/db/database.js';
import { createLearningStore } from '../../src/db/learningStore.js';
import type { ArmCandidate, LearningContext } from '../../src/learning/Chooser.js';
import { Learner } from '../../src/learning/Learner.js';
import { createRng } from '../../src/learning/Rng.js';

export const GOOD = 'a1'.repeat(32);
export const BAD = 'b2'.repeat(32);
export const NEW = 'c3'.repeat(32);
const cand = (hash: string): ArmCandidate => ({
  hash,
  source: 'template',
  config: `# ${hash}\n`,
  label: hash.slice(0, 2),
});

/**
 * A small, real learning history through the Learner (no SQL shortcuts): per context a decision
 * over three arms, then runs spread over the last two weeks — GOOD mostly green, BAD mostly red.
 */
export async function seedLearning(db: Db, contexts: LearningContext[], runsPerContext = 24): Promise<void> {
  const learner = new Learner({ store: createLearningStore(db), rng: createRng(7) });
  let pipelineId = 90_000;
  const now = Date.now();
  for (const context of contexts) {
    await learner.choose(context, [cand(GOOD), cand(BAD), cand(NEW)]);
    for (let i = 0; i < runsPerContext; i++) {
      const good = i % 3 !== 2;
      const ok = good ? i % 7 !== 0 : i % 5 === 0;
      await learner.observeRun({
        ...context,
        projectPath: `${context.tenant}/app`,
        pipelineId: ++pipelineId,
        configHash: good ? GOOD : BAD,
        status: ok ? 'success' : 'failed',
        durationS: good ? 100 + (i % 4) * 10 : 60 + (i % 3) * 5,
        stagesCount: 3,
        failedJobs: ok ? [] : [{ name: 'test', stage: 'test', failure_reason: 'script_failure', allow_failure: false }],
        at: new Date(now - (runsPerContext - i) * 14 * 3_600_000),
      });
    }
    await learner.choose(context, [cand(GOOD), cand(BAD), cand(NEW)]);
  }
}
