import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, T, T>;

/** One row per (tenant, language, framework); `runs` is the discounting clock. */
export interface LearningContextsTable {
  tenant: string;
  language: string;
  framework: string;
  runs: number;
  updated_at: Timestamp;
}

/** Posterior state per context and configuration; discounted sums are as of `slot`. */
export interface LearningArmsTable {
  tenant: string;
  language: string;
  framework: string;
  hash: string;
  source: string;
  slot: number;
  successes: number;
  failures: number;
  feedback_positive: number;
  feedback_negative: number;
  duration_weight: number;
  duration_sum: number;
  runs_total: number;
  successes_total: number;
  failure_streak: number;
  last_run_slot: number | null;
  last_duration_s: number | null;
  stages_count: number | null;
  broken_at: number | null;
  broken_retries: number;
  updated_at: Timestamp;
}

/** Evidence per GitLab pipeline (the replayable history); a retried pipeline rewrites its row. */
export interface LearningRunsTable {
  pipeline_id: number;
  tenant: string;
  language: string;
  framework: string;
  project_path: string;
  config_hash: string;
  slot: number;
  success: boolean;
  duration_s: number | null;
  stages_count: number | null;
  at: Timestamp;
  updated_at: Timestamp;
  /** attribution class (src/learning/attribution.ts), null for runs recorded before it (0005) */
  attribution: string | null;
  attribution_summary: string | null;
  tests_total: number | null;
  tests_failed: number | null;
  coverage: number | null;
}

export interface LearningJobFailuresTable {
  pipeline_id: number;
  tenant: string;
  language: string;
  framework: string;
  config_hash: string;
  job_name: string;
  stage: string;
  failure_reason: string | null;
  allow_failure: boolean;
}

export interface LearningDecisionsTable {
  id: string;
  at: Timestamp;
  policy: string;
  policy_version: string;
  tenant: string;
  language: string;
  framework: string;
  context_runs: number;
  arms: Json<unknown>;
  probabilities: Json<number[]>;
  chosen_hash: string;
  kind: string;
  propensity: number;
  pipeline_id: number | null;
  reward: Json<unknown | null>;
  reward_formula: string | null;
}

export interface LearningFeedbackTable {
  decision_id: string;
  user_id: string;
  kind: string;
  value: number | null;
  tenant: string;
  language: string;
  framework: string;
  config_hash: string;
  slot: number;
  positive: number;
  negative: number;
  at: Timestamp;
}

export interface LearningBansTable {
  hash: string;
  reason: string | null;
  at: Timestamp;
}

/** Per context, configuration and UTC day; kept by a trigger on learning_runs (migration 0009). */
export interface LearningDailyTable {
  tenant: string;
  language: string;
  framework: string;
  config_hash: string;
  day: Timestamp;
  runs: number;
  successes: number;
  duration_sum: number;
  duration_n: number;
  works: number;
  broken: number;
  no_evidence: number;
  weak: number;
  partial: number;
  flaky: number;
}

export interface LearningTables {
  learning_contexts: LearningContextsTable;
  learning_arms: LearningArmsTable;
  learning_runs: LearningRunsTable;
  learning_daily: LearningDailyTable;
  learning_job_failures: LearningJobFailuresTable;
  learning_decisions: LearningDecisionsTable;
  learning_feedback: LearningFeedbackTable;
  learning_bans: LearningBansTable;
}
