import { UserFacingError } from '../../errors.js';
import { inlineCode } from '../markdown.js';
import { type CommandReply, isFork, type Runner } from '../Runner.js';
import { renderProposal } from '../renderProposal.js';

export const runGenerate: Runner = async (ctx, deps): Promise<CommandReply> => {
  const { mr, project, args } = ctx;
  const source = mr.source_project_id;
  const sha = await deps.gitlab.branchHead(source, mr.source_branch);
  if (!sha) {
    throw new UserFacingError(
      `The source branch ${inlineCode(mr.source_branch)} does not exist any more. Push it again, then run ${inlineCode('/pipeline generate')}.`,
    );
  }
  const generated = await deps.generator.proposePipeline({
    project: { id: source, path: project.path },
    ref: mr.source_branch,
    sha,
    overrides: {
      ...(args.language ? { language: args.language } : {}),
      ...(args.framework ? { framework: args.framework } : {}),
      ...(args.policy ? { policy: args.policy } : {}),
    },
    ...(args.llm ? { llm: true } : {}),
  });
  const current = await deps.gitlab.file(source, project.configPath, sha);
  const proposal = await deps.store.createProposal({
    projectId: project.id,
    projectPath: project.path,
    mrIid: mr.iid,
    generated,
    configPath: project.configPath,
    branch: mr.source_branch,
    baseSha: sha,
    requestedBy: ctx.user.username,
    discussionId: ctx.note?.discussionId ?? null,
  });
  const alternatives: Array<{ number: number; label: string }> = [];
  for (const alt of generated.alternatives ?? []) {
    const p = await deps.store.createProposal({
      projectId: project.id,
      projectPath: project.path,
      mrIid: mr.iid,
      generated: alt,
      configPath: project.configPath,
      branch: mr.source_branch,
      baseSha: sha,
      requestedBy: ctx.user.username,
      discussionId: ctx.note?.discussionId ?? null,
    });
    alternatives.push({ number: p.number, label: alt.sourceLabel ?? alt.source });
  }
  return {
    body: renderProposal(proposal, current?.content ?? null, { fork: isFork(mr), showStatus: false, alternatives }),
    proposalId: proposal.id,
  };
};
