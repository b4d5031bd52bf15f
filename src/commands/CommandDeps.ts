import type { Config } from '../config.js';
import type { GitLab, MergeRequestInfo } from '../gitlab/GitLab.js';
import type { AttributionClass } from '../learning/attribution.js';

/**
 * Everything a command runner may touch, as interfaces. The composition root adapts the real
 * generator, learner, GitLab client and store to these; tests pass a real store and GitLab client
 * against the fake server, and small generator/learner objects.
 */
export interface CommandDeps {
  gitlab: GitLab;
  store: CommandStore;
  generator: ProposalGenerator;
  learner: LearnerPort;
  clock: () => Date;
  config: BotSettings;
  /** the local LLM's assistant (`ask`, `explain`); null/absent when OLLAMA_HOST is unset */
  assistant?: AssistantPort | null;
}

// ---- assistant (local LLM) ----

export interface AssistantRequest {
  project: { id: number; path: string; configPath: string };
  mr: MergeRequestInfo;
  user: { id: number; username: string };
}

export interface AssistantPort {
  /** `/pipeline ask`: a tool-calling answer, kept in the MR's chat session */
  ask(request: AssistantRequest & { question: string }): Promise<{ body: string }>;
  /** `/pipeline explain`: the failure's likely cause; a repaired configuration becomes a proposal */
  explain(request: AssistantRequest & { pipelineId: number | null }): Promise<{ body: string; proposalId?: number }>;
}

/** The bot's settings (allowlist of group/project paths — empty = all —, dry-run, levels, limits, author). */
export type BotSettings = Config['bot'];

// ---- generation ----

export interface ProposeRequest {
  project: { id: number; path: string };
  /** branch and the commit it pointed at when asked */
  ref: string;
  sha: string | null;
  overrides: { language?: string; framework?: string; policy?: string };
  /** ask the LLM even when a proven candidate exists (`/pipeline generate --llm`) */
  llm?: boolean;
}

export interface ArmConfidenceView {
  mean: number;
  low: number;
  high: number;
  runs: number;
}

/** What `generatePipeline` returns, reduced to what a proposal shows and commits. */
export interface GeneratedPipeline {
  language: string;
  framework: string;
  /** `learned` | `template` | `default` | `llm` */
  source: string;
  /** for people: "template node-express", "learned from acme/app pipeline 31" */
  sourceLabel?: string | null;
  evidence: string[];
  confidence: ArmConfidenceView | null;
  config: string;
  dockerfile?: string | null;
  decisionId: string | null;
  hash: string;
  validation?: { valid: boolean; errors: string[]; warnings: string[] } | null;
  /** further proposals offered with this one (an LLM-adapted candidate the learner did not choose) */
  alternatives?: GeneratedPipeline[];
}

export interface ProposalGenerator {
  proposePipeline(request: ProposeRequest): Promise<GeneratedPipeline>;
}

// ---- learner ----

export type FeedbackKind = 'rating' | 'thumbs_up' | 'thumbs_down';

export interface FeedbackInput {
  decisionId: string;
  userId: number;
  kind: FeedbackKind;
  value?: number;
  revoke?: boolean;
}

export interface ArmView {
  hash: string;
  source: string;
  label: string;
  runs: number;
  mean: number;
  low: number;
  high: number;
  /** the latest pipeline's failure attribution, one line (issue 11) */
  lastEvidence?: string | null;
}

export interface LearnerPort {
  feedback(input: FeedbackInput): Promise<void>;
  /** what the learner knows for a stack, any order */
  arms(context: { tenant: string; language: string; framework: string }): Promise<ArmView[]>;
  /** a pipeline ran a decision's configuration: the learner reads its outcome as the reward */
  attachReward(decisionId: string, pipelineId: number): Promise<void>;
  /** the learner's reading of a recorded pipeline ("red: 3 of 412 tests failed — the configuration worked") */
  runEvidence?(pipelineId: number): Promise<string | null>;
  /** what the learner recorded for a pipeline (class and line), null when it holds no run for it */
  recordedRun?(pipelineId: number): Promise<RecordedRunView | null>;
}

/** A pipeline as the learner recorded it; `attribution` null: stored without attribution (green/red only). */
export interface RecordedRunView {
  success: boolean;
  attribution: AttributionClass | null;
  summary: string | null;
  testsTotal: number | null;
  testsFailed: number | null;
}

// ---- store ----

export type ProposalStatus = 'generated' | 'approved' | 'committed' | 'succeeded' | 'failed' | 'rolled_back';

export interface Proposal {
  id: number;
  projectId: number;
  mrIid: number;
  number: number;
  status: ProposalStatus;
  language: string;
  framework: string;
  source: string;
  sourceLabel: string | null;
  evidence: string[];
  confidence: ArmConfidenceView | null;
  validation: { valid: boolean; errors: string[]; warnings: string[] } | null;
  config: string;
  dockerfile: string | null;
  configPath: string;
  decisionId: string | null;
  hash: string;
  branch: string;
  baseSha: string | null;
  requestedBy: string | null;
  noteId: number | null;
  discussionId: string | null;
  approvedBy: string | null;
  previousConfig: string | null;
  previousDockerfile: string | null;
  commitSha: string | null;
  outcomePipelineId: number | null;
  outcomeStatus: string | null;
  outcomeNoteId: number | null;
  outcomeBody: string | null;
  rollbackSha: string | null;
  createdAt: Date;
}

export interface NewProposal {
  projectId: number;
  projectPath: string;
  mrIid: number;
  generated: GeneratedPipeline;
  configPath: string;
  branch: string;
  baseSha: string | null;
  requestedBy: string;
  discussionId: string | null;
  /** a chat session's conversation (proposals of a session bound to no merge request have mrIid 0) */
  conversationId?: number;
}

export type ProposalPatch = Partial<
  Pick<
    Proposal,
    | 'status'
    | 'noteId'
    | 'discussionId'
    | 'approvedBy'
    | 'previousConfig'
    | 'previousDockerfile'
    | 'commitSha'
    | 'outcomePipelineId'
    | 'outcomeStatus'
    | 'outcomeNoteId'
    | 'outcomeBody'
    | 'rollbackSha'
  >
> & { approvedAt?: Date; committedAt?: Date; rolledBackAt?: Date };

export interface CommandStore {
  createProposal(p: NewProposal): Promise<Proposal>;
  proposal(projectId: number, mrIid: number, number: number): Promise<Proposal | null>;
  latestProposal(projectId: number, mrIid: number): Promise<Proposal | null>;
  /** the newest proposal committed to this MR and not yet rolled back */
  lastCommittedProposal(projectId: number, mrIid: number): Promise<Proposal | null>;
  proposalByNote(projectId: number, noteId: number): Promise<Proposal | null>;
  proposalByCommit(projectId: number, sha: string): Promise<Proposal | null>;
  updateProposal(id: number, patch: ProposalPatch): Promise<Proposal>;
  /** one approval/rollback/outcome at a time per merge request; `fn` gets a store inside the lock */
  withMergeRequestLock<T>(projectId: number, mrIid: number, fn: (store: CommandStore) => Promise<T>): Promise<T>;
  addMessage(m: {
    projectId: number;
    projectPath: string;
    mrIid: number;
    role: 'user' | 'assistant';
    authorId?: number | null;
    authorUsername?: string | null;
    noteId?: number | null;
    content: string;
    command?: Record<string, unknown> | null;
    proposalId?: number | null;
  }): Promise<void>;
}
