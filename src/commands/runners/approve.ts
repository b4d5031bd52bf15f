import { UserFacingError } from '../../errors.js';
import { type CommitFileAction, GitLabError } from '../../gitlab/GitLab.js';
import type { CommandDeps, CommandStore, Proposal } from '../CommandDeps.js';
import { inlineCode, shortSha } from '../markdown.js';
import { type CommandContext, isFork, type Runner } from '../Runner.js';
import { findProposal } from './findProposal.js';

export type CommitOutcome =
  | { kind: 'committed'; proposal: Proposal; commitSha: string; webUrl: string | null }
  /** nothing new was written: a retried request, or the branch already had exactly this content */
  | { kind: 'already'; proposal: Proposal; commitSha: string | null };

const DOCKERFILE = 'Dockerfile';

export function forkRefusal(verb: string): UserFacingError {
  return new UserFacingError(
    `This merge request comes from a fork, and the bot cannot push to a fork, so it cannot ${verb}. Copy the file from ${inlineCode('/pipeline show')} into your branch yourself.`,
    { status: 409, code: 'fork' },
  );
}

/**
 * Commits a proposal to the MR's source branch. Serialised per MR; safe to run twice: a proposal that
 * is already committed, or whose commit landed before it could be recorded, is not committed again.
 */
export async function commitProposal(ctx: CommandContext, deps: CommandDeps): Promise<CommitOutcome> {
  if (isFork(ctx.mr)) throw forkRefusal('commit the proposal');
  return deps.store.withMergeRequestLock(ctx.project.id, ctx.mr.iid, (store) => commitLocked(ctx, deps, store));
}

async function commitLocked(ctx: CommandContext, deps: CommandDeps, store: CommandStore): Promise<CommitOutcome> {
  const { gitlab, clock } = deps;
  const p = await findProposal(ctx, store);
  if (p.status === 'rolled_back') {
    throw new UserFacingError(
      `Proposal ${p.number} was rolled back. Run ${inlineCode('/pipeline generate')} for a fresh proposal.`,
      { status: 409, code: 'rolled_back' },
    );
  }
  if (p.status === 'committed' || p.status === 'succeeded' || p.status === 'failed') {
    return { kind: 'already', proposal: p, commitSha: p.commitSha };
  }
  const project = ctx.mr.source_project_id;
  const head = await gitlab.branchHead(project, p.branch);
  if (!head) {
    throw new UserFacingError(
      `The branch ${inlineCode(p.branch)} does not exist any more, so there is nothing to commit to.`,
      {
        status: 409,
        code: 'branch_gone',
      },
    );
  }
  const current = await gitlab.file(project, p.configPath, head);
  const currentDocker = p.dockerfile ? await gitlab.file(project, DOCKERFILE, head) : null;
  const alreadyThere = current?.content === p.config && (!p.dockerfile || currentDocker?.content === p.dockerfile);
  if (alreadyThere) {
    // Either an earlier attempt committed and crashed before recording, or the branch had it already.
    const landedHere = p.status === 'approved' && current?.lastCommitId === head;
    const updated = await store.updateProposal(p.id, {
      status: 'committed',
      commitSha: head,
      committedAt: clock(),
      ...(p.status === 'generated' ? { approvedBy: ctx.user.username, approvedAt: clock() } : {}),
    });
    return landedHere
      ? { kind: 'committed', proposal: updated, commitSha: head, webUrl: null }
      : { kind: 'already', proposal: updated, commitSha: head };
  }
  if (head !== p.baseSha && !ctx.args.force) {
    throw new UserFacingError(
      `The branch ${inlineCode(p.branch)} moved since proposal ${p.number} was made (${shortSha(p.baseSha)} → ${shortSha(head)}), so I did not commit, to avoid overwriting newer work. ` +
        `Run ${inlineCode('/pipeline generate')} for a proposal based on the new head, or ${inlineCode(`/pipeline approve ${p.number} --force`)} to commit it anyway.`,
      { status: 409, code: 'branch_moved' },
    );
  }

  await store.updateProposal(p.id, {
    status: 'approved',
    approvedBy: ctx.user.username,
    approvedAt: clock(),
    previousConfig: current?.content ?? null,
    previousDockerfile: p.dockerfile ? (currentDocker?.content ?? null) : null,
  });

  const actions: CommitFileAction[] = [fileAction(p.configPath, p.config, current)];
  if (p.dockerfile && currentDocker?.content !== p.dockerfile)
    actions.push(fileAction(DOCKERFILE, p.dockerfile, currentDocker));

  let commit: { id: string; web_url: string | null };
  try {
    commit = await gitlab.createCommit(project, {
      branch: p.branch,
      message: commitMessage(p, ctx),
      actions,
      authorName: deps.config.commitAuthorName,
      authorEmail: deps.config.commitAuthorEmail,
    });
  } catch (err) {
    throw staleWriteRefusal(err, p) ?? err;
  }
  const updated = await store.updateProposal(p.id, { status: 'committed', commitSha: commit.id, committedAt: clock() });
  return { kind: 'committed', proposal: updated, commitSha: commit.id, webUrl: commit.web_url };
}

export function fileAction(path: string, content: string, current: { lastCommitId: string } | null): CommitFileAction {
  return current
    ? { action: 'update', filePath: path, content, lastCommitId: current.lastCommitId }
    : { action: 'create', filePath: path, content };
}

/** GitLab's answer to a stale `last_commit_id` or a file created meanwhile, as something a user can act on. */
export function staleWriteRefusal(err: unknown, p: Proposal): UserFacingError | null {
  if (!(err instanceof GitLabError) || (err.status !== 400 && err.status !== 409)) return null;
  if (!/modified|already exists|changed|does(n't| not) exist/i.test(err.message)) return null;
  return new UserFacingError(
    `GitLab refused the commit because ${inlineCode(p.configPath)} changed on ${inlineCode(p.branch)} while I was writing it. ` +
      `Run ${inlineCode('/pipeline generate')} for a proposal based on the new head.`,
    { status: 409, code: 'branch_moved' },
  );
}

function commitMessage(p: Proposal, ctx: CommandContext): string {
  const link = p.noteId ? `${ctx.mr.web_url}#note_${p.noteId}` : ctx.mr.web_url;
  const who = ctx.user.name ? `${ctx.user.name} (@${ctx.user.username})` : `@${ctx.user.username}`;
  return [
    `ci: apply pipeline-learner proposal ${p.number} (${p.language}/${p.framework})`,
    '',
    `Configuration ${p.hash.slice(0, 12)} from ${p.source}${p.decisionId ? `, decision ${p.decisionId}` : ''}.`,
    `Proposal: ${link}`,
    '',
    `Approved-by: ${who}`,
  ].join('\n');
}

export function renderCommit(outcome: CommitOutcome, ctx: CommandContext): string {
  const p = outcome.proposal;
  if (outcome.kind === 'already') {
    return [
      `Proposal ${p.number} is already on ${inlineCode(p.branch)}${outcome.commitSha ? ` (commit ${shortSha(outcome.commitSha)})` : ''}; nothing new was committed.`,
      '',
      `Next: ${inlineCode('/pipeline status')} shows its pipeline.`,
    ].join('\n');
  }
  const sha = outcome.webUrl ? `[${shortSha(outcome.commitSha)}](${outcome.webUrl})` : shortSha(outcome.commitSha);
  return [
    `Committed proposal ${p.number} to ${inlineCode(p.branch)} as ${sha}, approved by @${ctx.user.username}.`,
    "I'll report the outcome of its pipeline in this thread.",
    '',
    `Next: ${inlineCode('/pipeline status')} to follow the pipeline; ${inlineCode('/pipeline rollback')} undoes the commit.`,
  ].join('\n');
}

export const runApprove: Runner = async (ctx, deps) => ({ body: renderCommit(await commitProposal(ctx, deps), ctx) });
