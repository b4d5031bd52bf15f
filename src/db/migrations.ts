import type { Migration } from 'kysely';
import * as core from './migrations/0001_core.js';
import * as learning from './migrations/0002_learning.js';
import * as vectors from './migrations/0003_vectors.js';
import * as commands from './migrations/0004_commands.js';
import * as attribution from './migrations/0005_attribution.js';
import * as scale from './migrations/0006_scale.js';
import * as chatSessions from './migrations/0007_chat_sessions.js';
import * as gitlabBudget from './migrations/0008_gitlab_budget.js';
import * as learningReads from './migrations/0009_learning_reads.js';
import * as claimJobs from './migrations/0010_claim_jobs.js';

/** Hand-listed and frozen in time: append, never edit a released one. Names sort in apply order. */
export const migrations: Record<string, Migration> = {
  '0001_core': core,
  '0002_learning': learning,
  '0003_vectors': vectors,
  '0004_commands': commands,
  '0005_attribution': attribution,
  '0006_scale': scale,
  '0007_chat_sessions': chatSessions,
  '0008_gitlab_budget': gitlabBudget,
  '0009_learning_reads': learningReads,
  '0010_claim_jobs': claimJobs,
};
