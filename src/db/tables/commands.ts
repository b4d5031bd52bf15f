import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, T, T>;

/** One per merge request the bot has talked in (seed 003's `conversations`, keyed by MR). */
export interface ConversationsTable {
  id: Generated<number>;
  project_id: number;
  project_path: string;
  mr_iid: number;
  /** a chat session (POST /api/v1/chat); null for the MR's own conversation */
  session_id: string | null;
  /** who opened the chat session (the API caller's label) */
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A command note and the bot's answer to it (seed 003's `messages`). */
export interface MessagesTable {
  id: Generated<number>;
  conversation_id: number;
  /** 'user' for a command or feedback, 'assistant' for a reply */
  role: string;
  author_id: number | null;
  author_username: string | null;
  /** the GitLab note: the command note, or the reply note (null in dry-run) */
  note_id: number | null;
  content: string;
  /** parsed command (verb + args) for user messages */
  command: Json<Record<string, unknown> | null>;
  proposal_id: number | null;
  /** chat: the tools an assistant turn called ([{name, arguments}]) */
  tool_calls: Json<Array<{ name: string; arguments: Record<string, unknown> }> | null>;
  /** chat: the tool a `tool` message is the result of */
  tool_name: string | null;
  created_at: Timestamp;
}

export type ProposalStatus = 'generated' | 'approved' | 'committed' | 'succeeded' | 'failed' | 'rolled_back';

/** Seed 003's `pipelines`, grown into the proposal lifecycle. */
export interface ProposalsTable {
  id: Generated<number>;
  conversation_id: number;
  project_id: number;
  mr_iid: number;
  /** 1, 2, 3… within one merge request: what users type after `approve` */
  number: number;
  status: ProposalStatus;
  language: string;
  framework: string;
  source: string;
  source_label: string | null;
  evidence: Json<string[]>;
  confidence: Json<Record<string, unknown> | null>;
  validation: Json<Record<string, unknown> | null>;
  config: string;
  dockerfile: string | null;
  config_path: string;
  decision_id: string | null;
  hash: string;
  /** MR source branch (the one we commit to) and its head when the proposal was made */
  branch: string;
  base_sha: string | null;
  requested_by: string | null;
  /** the reply note that shows the proposal; thumbs on it are feedback */
  note_id: number | null;
  discussion_id: string | null;
  approved_by: string | null;
  approved_at: NullableTimestamp;
  /** the files as they were just before the approval commit; null = did not exist */
  previous_config: string | null;
  previous_dockerfile: string | null;
  commit_sha: string | null;
  committed_at: NullableTimestamp;
  outcome_pipeline_id: number | null;
  outcome_status: string | null;
  outcome_note_id: number | null;
  outcome_body: string | null;
  rollback_sha: string | null;
  rolled_back_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One row per command delivery (note id, emoji award…): a second run of the same key never replies again. */
export interface CommandExecutionsTable {
  key: string;
  project_id: number;
  mr_iid: number | null;
  verb: string;
  /** 'started' → 'replied' | 'done' */
  status: string;
  reply_body: string | null;
  reply_note_id: number | null;
  job_id: string | null;
  error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Fixed one-hour windows per (scope, key). */
export interface CommandRateCountersTable {
  scope: string;
  key: string;
  window_start: ColumnType<Date, Date | string, Date | string>;
  count: number;
}

export interface CommandTables {
  conversations: ConversationsTable;
  messages: MessagesTable;
  proposals: ProposalsTable;
  command_executions: CommandExecutionsTable;
  command_rate_counters: CommandRateCountersTable;
}
