import { isFork, type Runner } from '../Runner.js';
import { renderProposal } from '../renderProposal.js';
import { findProposal } from './findProposal.js';

export const runShow: Runner = async (ctx, deps) => {
  const proposal = await findProposal(ctx, deps.store);
  const current = await deps.gitlab.file(ctx.mr.source_project_id, proposal.configPath, proposal.branch);
  return { body: renderProposal(proposal, current?.content ?? null, { fork: isFork(ctx.mr), showStatus: true }) };
};
