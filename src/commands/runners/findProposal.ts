import { UserFacingError } from '../../errors.js';
import type { CommandStore, Proposal } from '../CommandDeps.js';
import { inlineCode } from '../markdown.js';
import type { CommandContext } from '../Runner.js';

/** Proposal N of this MR, or its latest when no N was given. */
export async function findProposal(
  ctx: Pick<CommandContext, 'project' | 'mr' | 'args'>,
  store: CommandStore,
): Promise<Proposal> {
  const n = ctx.args.proposal;
  const found = n
    ? await store.proposal(ctx.project.id, ctx.mr.iid, n)
    : await store.latestProposal(ctx.project.id, ctx.mr.iid);
  if (found) return found;
  if (n) {
    const latest = await store.latestProposal(ctx.project.id, ctx.mr.iid);
    throw new UserFacingError(
      latest
        ? `There is no proposal ${n} on this merge request; the latest is ${latest.number}. Try ${inlineCode(`/pipeline show ${latest.number}`)}.`
        : `There is no proposal ${n} on this merge request. Run ${inlineCode('/pipeline generate')} first.`,
    );
  }
  throw new UserFacingError(
    `There is no proposal on this merge request yet. Run ${inlineCode('/pipeline generate')} first.`,
  );
}
