import type { FeedbackKind } from '../../commands/CommandDeps.js';
import * as store from '../../db/commandStore.js';
import { emojiHookSchema } from '../../webhooks/webhookPayloads.js';
import type { JobContext, JobHandler } from '../Worker.js';
import { allowed, type CommandHandlerDeps, hookOf, type JobRef, jobRefOf } from './noteEvent.js';

export type EmojiOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'duplicate' }
  | { outcome: 'recorded'; kind: FeedbackKind; revoke: boolean; proposal: number };

const THUMBS: Record<string, FeedbackKind> = {
  thumbsup: 'thumbs_up',
  '+1': 'thumbs_up',
  thumbsdown: 'thumbs_down',
  '-1': 'thumbs_down',
};

/**
 * An Emoji Hook delivery (`emoji_event` job): a thumb on a proposal note is feedback for its decision,
 * a revoke takes it back. Nothing is posted on GitLab. Reactions by the bot never count.
 */
export async function handleEmojiEvent(payload: unknown, deps: CommandHandlerDeps, job: JobRef): Promise<EmojiOutcome> {
  const parsed = emojiHookSchema.safeParse(hookOf(payload));
  if (!parsed.success) return { outcome: 'ignored', reason: 'not an emoji payload' };
  const hook = parsed.data;
  const attrs = hook.object_attributes;
  if (attrs.awardable_type !== 'Note') return { outcome: 'ignored', reason: 'not on a note' };
  const kind = THUMBS[attrs.name.replace(/^:|:$/g, '')];
  if (!kind) return { outcome: 'ignored', reason: 'not a thumb' };
  const mrIid = hook.merge_request?.iid;
  if (mrIid === undefined) return { outcome: 'ignored', reason: 'not on a merge request' };

  const bot = await deps.botUser();
  if (hook.user.id === bot.id || attrs.user_id === bot.id)
    return { outcome: 'ignored', reason: "the bot's own reaction" };
  const project = { id: hook.project.id, path: hook.project.path_with_namespace };
  if (!allowed(deps.config.allowlist, project)) return { outcome: 'ignored', reason: 'project not in the allowlist' };

  const proposal = await store.proposalByNote(deps.db, project.id, attrs.awardable_id);
  if (!proposal) return { outcome: 'ignored', reason: 'not a proposal note' };
  if (!proposal.decisionId) return { outcome: 'ignored', reason: 'proposal without a decision' };

  const revoke = hook.event_type === 'revoke' || attrs.action === 'revoke';
  const key = `emoji:${project.id}:${attrs.id}:${revoke ? 'revoke' : 'award'}`;
  const claim = await store.claimExecution(deps.db, {
    key,
    projectId: project.id,
    mrIid,
    verb: revoke ? `revoke ${kind}` : kind,
    jobId: job.id,
  });
  if (claim.kind === 'replied') return { outcome: 'duplicate' };

  const level = await deps.gitlab.memberAccessLevel(project.id, hook.user.id);
  if (level < deps.config.readLevel) {
    await store.finishExecution(deps.db, key, { status: 'done', error: 'access level too low' });
    return { outcome: 'ignored', reason: 'reaction by a user below the read level' };
  }

  await deps.learner.feedback({ decisionId: proposal.decisionId, userId: hook.user.id, kind, revoke });
  if (claim.kind === 'new') {
    await store.addMessage(deps.db, {
      projectId: project.id,
      projectPath: project.path,
      mrIid,
      role: 'user',
      authorId: hook.user.id,
      authorUsername: hook.user.username,
      noteId: attrs.awardable_id,
      content: `${revoke ? 'revoked ' : ''}:${attrs.name}:`,
      command: { verb: 'emoji', kind, revoke },
      proposalId: proposal.id,
    });
  }
  await store.finishExecution(deps.db, key, { status: 'done' });
  return { outcome: 'recorded', kind, revoke, proposal: proposal.number };
}

/** The `emoji_event` job handler for the worker. */
export function emojiEventJobHandler(deps: CommandHandlerDeps): JobHandler {
  return async (payload: unknown, ctx: JobContext) => {
    await handleEmojiEvent(payload, { ...deps, log: ctx.log }, jobRefOf(ctx));
  };
}
