import type { LearningContext } from './Chooser.js';
import type { DecisionRecord } from './DecisionRecord.js';
import type { ArmEvidence, FeedbackEvidence, RunEvidence } from './posterior.js';
import type { RewardParts } from './reward.js';

export interface FailedJob {
  name: string;
  stage: string;
  failure_reason: string | null;
  allow_failure: boolean;
}

/** A pipeline's evidence as stored, one row per GitLab pipeline id; a retry rewrites the row. */
export interface StoredRun extends RunEvidence {
  pipelineId: number;
  context: LearningContext;
  projectPath: string;
  at: string;
  failedJobs: FailedJob[];
  /** one line for people from the attribution ("red: 3 of 412 tests failed — the configuration worked") */
  attributionSummary?: string | null;
  testsTotal?: number | null;
  testsFailed?: number | null;
  coverage?: number | null;
}

export interface StoredFeedback extends FeedbackEvidence {
  decisionId: string;
  userId: string;
  kind: 'rating' | 'thumbs_up' | 'thumbs_down';
  value: number | null;
  context: LearningContext;
  at: string;
}

export interface Ban {
  hash: string;
  reason: string | null;
  at: string;
}

export interface JobFailureStat {
  configHash: string;
  stage: string;
  jobName: string;
  failureReason: string | null;
  allowFailure: boolean;
  count: number;
}

export interface DecisionFilter {
  tenant?: string;
  policy?: string;
  since?: string;
  limit?: number;
}

/**
 * The learner's storage port (implemented by src/db/learningStore.ts). Methods called inside
 * `transaction` run on the transaction's connection; `lockContext` serialises writers of one context.
 */
export interface LearningStore {
  transaction<T>(fn: (store: LearningStore) => Promise<T>): Promise<T>;
  /** creates the context if new, locks it for the transaction, returns its run counter */
  lockContext(context: LearningContext): Promise<number>;
  getContextRuns(context: LearningContext): Promise<number>;
  setContextRuns(context: LearningContext, runs: number): Promise<void>;
  getArms(context: LearningContext): Promise<ArmEvidence[]>;
  /** every tenant's arms for these stacks, with each context's run counter (one read for all of them) */
  getArmsForStacks(
    stacks: ReadonlyArray<{ language: string; framework: string }>,
  ): Promise<{ context: LearningContext; contextRuns: number; arm: ArmEvidence }[]>;
  putArms(context: LearningContext, arms: ArmEvidence[]): Promise<void>;
  replaceArms(context: LearningContext, arms: ArmEvidence[]): Promise<void>;
  getRuns(pipelineIds: readonly number[]): Promise<StoredRun[]>;
  /** one row per pipeline id: give each id once */
  putRuns(runs: readonly StoredRun[]): Promise<void>;
  deleteRuns(pipelineIds: readonly number[]): Promise<void>;
  listRuns(context: LearningContext): Promise<StoredRun[]>;
  /** per configuration of the context: the attribution line of its latest run that has one */
  latestEvidence(context: LearningContext): Promise<Map<string, string>>;
  insertDecision(decision: DecisionRecord): Promise<void>;
  getDecision(id: string): Promise<DecisionRecord | null>;
  setDecisionReward(id: string, pipelineId: number | null, reward: RewardParts | null): Promise<void>;
  decisionsForPipelines(pipelineIds: readonly number[]): Promise<DecisionRecord[]>;
  listDecisions(filter?: DecisionFilter): Promise<DecisionRecord[]>;
  getFeedback(decisionId: string, userId: string): Promise<StoredFeedback | null>;
  putFeedback(feedback: StoredFeedback): Promise<void>;
  deleteFeedback(decisionId: string, userId: string): Promise<void>;
  listFeedback(context: LearningContext): Promise<StoredFeedback[]>;
  listBans(): Promise<Ban[]>;
  putBan(ban: Ban): Promise<void>;
  /** true when a ban was removed */
  deleteBan(hash: string): Promise<boolean>;
  jobFailureStats(filter: Partial<LearningContext> & { configHash?: string }): Promise<JobFailureStat[]>;
  /** deletes a project's runs (decisions rewarded by them lose the reward); returns the contexts touched */
  forgetProject(projectPath: string): Promise<{ contexts: LearningContext[]; runs: number }>;
  /** deletes everything recorded for a tenant; returns the number of runs deleted */
  forgetTenant(tenant: string): Promise<{ runs: number }>;
}
