import { UserFacingError } from '../../errors.js';
import type { CommitFileAction } from '../../gitlab/GitLab.js';
import type { CommandDeps, CommandStore } from '../CommandDeps.js';
import { inlineCode, shortSha } from '../markdown.js';
import { type CommandContext, isFork, type Runner } from '../Runner.js';
import { fileAction, forkRefusal, staleWriteRefusal } from './approve.js';

const DOCKERFILE = 'Dockerfile';

export const runRollback: Runner = async (ctx, deps) => {
  if (isFork(ctx.mr)) throw forkRefusal('roll back');
  return deps.store.withMergeRequestLock(ctx.project.id, ctx.mr.iid, (store) => rollbackLocked(ctx, deps, store));
};

async function rollbackLocked(ctx: CommandContext, deps: CommandDeps, store: CommandStore) {
  const { gitlab, clock } = deps;
  const p = await store.lastCommittedProposal(ctx.project.id, ctx.mr.iid);
  if (!p) throw new UserFacingError('Nothing to roll back: no proposal has been committed on this merge request.');
  if (p.status === 'rolled_back') {
    return {
      body: `Proposal ${p.number}, the last one committed here, is already rolled back${p.rollbackSha ? ` (commit ${shortSha(p.rollbackSha)})` : ''}. Next: ${inlineCode('/pipeline generate')} for a new proposal.`,
    };
  }
  const project = ctx.mr.source_project_id;
  const head = await gitlab.branchHead(project, p.branch);
  if (!head)
    throw new UserFacingError(
      `The branch ${inlineCode(p.branch)} does not exist any more; there is nothing to roll back.`,
    );
  const current = await gitlab.file(project, p.configPath, head);
  const restored = p.previousConfig === null ? current === null : current?.content === p.previousConfig;
  const what =
    p.previousConfig === null
      ? `removes ${inlineCode(p.configPath)}`
      : `restores the ${inlineCode(p.configPath)} from before it`;

  if (restored) {
    // An earlier attempt committed but could not record it, or someone reverted by hand.
    await store.updateProposal(p.id, { status: 'rolled_back', rollbackSha: head, rolledBackAt: clock() });
    return {
      body: `The branch already has the ${inlineCode(p.configPath)} from before proposal ${p.number}; marked it rolled back.`,
    };
  }
  if (current?.content !== p.config && !ctx.args.force) {
    throw new UserFacingError(
      `${inlineCode(p.configPath)} changed on ${inlineCode(p.branch)} after proposal ${p.number} was committed; rolling back would discard that change. ` +
        `Use ${inlineCode('/pipeline rollback --force')} to roll back anyway.`,
      { status: 409, code: 'changed_since' },
    );
  }
  const actions: CommitFileAction[] = [];
  if (p.previousConfig === null) {
    if (current) actions.push({ action: 'delete', filePath: p.configPath, lastCommitId: current.lastCommitId });
  } else {
    actions.push(fileAction(p.configPath, p.previousConfig, current));
  }
  if (p.dockerfile) {
    const docker = await gitlab.file(project, DOCKERFILE, head);
    if (p.previousDockerfile === null && docker && docker.content === p.dockerfile) {
      actions.push({ action: 'delete', filePath: DOCKERFILE, lastCommitId: docker.lastCommitId });
    } else if (p.previousDockerfile !== null && docker?.content !== p.previousDockerfile) {
      actions.push(fileAction(DOCKERFILE, p.previousDockerfile, docker));
    }
  }
  const who = ctx.user.name ? `${ctx.user.name} (@${ctx.user.username})` : `@${ctx.user.username}`;
  let commit: { id: string; web_url: string | null };
  try {
    commit = await gitlab.createCommit(project, {
      branch: p.branch,
      message: [
        `ci: roll back pipeline-learner proposal ${p.number}`,
        '',
        `Undoes ${shortSha(p.commitSha)}: ${p.previousConfig === null ? `removes ${p.configPath}` : `restores ${p.configPath} from before it`}.`,
        `Merge request: ${ctx.mr.web_url}`,
        '',
        `Requested-by: ${who}`,
      ].join('\n'),
      actions,
      authorName: deps.config.commitAuthorName,
      authorEmail: deps.config.commitAuthorEmail,
    });
  } catch (err) {
    throw staleWriteRefusal(err, p) ?? err;
  }
  await store.updateProposal(p.id, { status: 'rolled_back', rollbackSha: commit.id, rolledBackAt: clock() });
  const sha = commit.web_url ? `[${shortSha(commit.id)}](${commit.web_url})` : shortSha(commit.id);
  return {
    body: [
      `Rolled back proposal ${p.number}: commit ${sha} ${what}.`,
      '',
      `Next: ${inlineCode('/pipeline generate')} for a new proposal; it will avoid configurations that failed.`,
    ].join('\n'),
  };
}
