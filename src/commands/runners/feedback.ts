import { UserFacingError } from '../../errors.js';
import { inlineCode } from '../markdown.js';
import type { Runner } from '../Runner.js';
import { findProposal } from './findProposal.js';

export const runRate: Runner = async (ctx, deps) => {
  const p = await findProposal({ ...ctx, args: {} }, deps.store);
  if (!p.decisionId) {
    throw new UserFacingError(
      `Proposal ${p.number} has no logged decision, so the learner cannot take a rating for it.`,
    );
  }
  const rating = ctx.args.rating ?? 0;
  await deps.learner.feedback({ decisionId: p.decisionId, userId: ctx.user.id, kind: 'rating', value: rating });
  return {
    body: `Thanks @${ctx.user.username}: rated proposal ${p.number} ${rating}/5. The learner counts it with the pipeline results for ${inlineCode(`${p.language}/${p.framework}`)}; a new rating replaces this one.`,
    proposalId: undefined,
  };
};

export const runFeedback: Runner = async (ctx, deps) => {
  const p = await deps.store.latestProposal(ctx.project.id, ctx.mr.iid);
  // The text itself is kept with the conversation (the caller records every command's message).
  return {
    body: p
      ? `Thanks @${ctx.user.username}: your feedback is recorded with proposal ${p.number}. To score it, use ${inlineCode('/pipeline rate <1-5>')} or react with :thumbsup: / :thumbsdown: on the proposal.`
      : `Thanks @${ctx.user.username}: your feedback is recorded with this merge request.`,
  };
};
