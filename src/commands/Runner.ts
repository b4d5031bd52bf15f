import type { MergeRequestInfo } from '../gitlab/GitLab.js';
import type { CommandDeps } from './CommandDeps.js';
import type { CommandArgs, Verb } from './parseComment.js';

export interface CommandContext {
  verb: Verb;
  args: CommandArgs;
  /** the project the MR belongs to (the target project) */
  project: { id: number; path: string; configPath: string };
  /** fresh from the API, not the payload */
  mr: MergeRequestInfo;
  user: { id: number; username: string; name?: string | null };
  /** the command note; null for REST calls */
  note: { id: number; discussionId: string | null } | null;
}

export interface CommandReply {
  body: string;
  /** set by `generate`: the reply note becomes the proposal's note (thumbs on it are feedback) */
  proposalId?: number;
}

export type Runner = (ctx: CommandContext, deps: CommandDeps) => Promise<CommandReply>;

export function isFork(mr: MergeRequestInfo): boolean {
  return mr.source_project_id !== mr.target_project_id;
}
