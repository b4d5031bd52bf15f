import type { ColumnType, Generated } from 'kysely';

/** Read as Date, written as Date or ISO text. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** int8 columns: both drivers are set up to return numbers; `Number()` on read keeps that honest. */
type Int8 = ColumnType<number, number, number>;
type Json<T> = ColumnType<T, T, T>;

/** One accepted webhook delivery; the payload is redacted and dropped after the retention period. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  dedupe_key: string;
  event: string;
  project_id: Int8 | null;
  payload: ColumnType<unknown | null, unknown | null, unknown | null>;
  received_at: Timestamp;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'dead';

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: Json<unknown>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  /** unique when set: a second enqueue with the same key is a no-op */
  dedupe_key: string | null;
  delivery_id: number | null;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  run_at: Timestamp;
  locked_by: string | null;
  locked_until: NullableTimestamp;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: Timestamp;
}

/** Projects seen in events; the reconciler walks these. */
export interface ProjectsTable {
  project_id: Int8;
  path_with_namespace: string;
  tenant: string;
  ci_config_path: string | null;
  last_event_at: Timestamp;
}

export interface RunJob {
  id: number | null;
  name: string;
  stage: string;
  status: string;
  failure_reason: string | null;
  allow_failure: boolean;
  when: string | null;
}

/** One row per GitLab pipeline; a retried pipeline updates its row. */
export interface PipelineRunsTable {
  pipeline_id: Int8;
  iid: Int8 | null;
  project_id: Int8;
  project_path: string;
  tenant: string;
  sha: string;
  ref: string;
  source: string | null;
  status: string;
  duration_s: number | null;
  queued_duration_s: number | null;
  jobs: Json<RunJob[]>;
  failed_jobs: Json<RunJob[]>;
  stages_count: number;
  config_hash: string | null;
  config_path: string;
  language: string;
  framework: string;
  finished_at: NullableTimestamp;
  recorded_at: Timestamp;
  updated_at: Timestamp;
}

/** Configurations by sha256 of the bytes GitLab served; inserted once, never overwritten. */
export interface ConfigurationsTable {
  hash: string;
  /** the configuration with credential-looking values masked */
  content: string;
  dockerfile: string | null;
  valid_yaml: boolean;
  yaml_error: string | null;
  language: string;
  framework: string;
  first_project_path: string;
  first_seen_at: Timestamp;
}

/** Named leases: one holder at a time across replicas (the reconciler). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

/** Per configuration and context, kept by a trigger on pipeline_runs (migration 0006). */
export interface ConfigSuccessTable {
  config_hash: string;
  tenant: string;
  language: string;
  framework: string;
  runs: Int8;
  successes: Int8;
  last_run_id: Int8 | null;
  last_run_at: NullableTimestamp;
  /** the latest successful run; null while none */
  success_id: Int8 | null;
  success_project_path: string | null;
  success_duration_s: number | null;
  success_stages_count: number | null;
  success_finished_at: NullableTimestamp;
  success_recorded_at: NullableTimestamp;
}

export interface CoreTables {
  webhook_deliveries: WebhookDeliveriesTable;
  jobs: JobsTable;
  settings: SettingsTable;
  projects: ProjectsTable;
  pipeline_runs: PipelineRunsTable;
  configurations: ConfigurationsTable;
  leases: LeasesTable;
  config_success: ConfigSuccessTable;
}
