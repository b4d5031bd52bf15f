import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { CommandStore, NewProposal, Proposal, ProposalPatch } from '../commands/CommandDeps.js';
import type { Database } from './database.js';
import type { ProposalsTable } from './tables/commands.js';

type Q = Kysely<Database> | Transaction<Database>;

// ---- conversations and messages ----

export async function ensureConversation(
  db: Q,
  projectId: number,
  projectPath: string,
  mrIid: number,
): Promise<number> {
  const row = await db
    .insertInto('conversations')
    .values({ project_id: projectId, project_path: projectPath, mr_iid: mrIid })
    .onConflict((oc) =>
      oc
        .columns(['project_id', 'mr_iid'])
        .where('session_id', 'is', null)
        .doUpdateSet({ updated_at: sql`now()`, project_path: projectPath }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function addMessage(db: Q, m: Parameters<CommandStore['addMessage']>[0]): Promise<void> {
  const conversationId = await ensureConversation(db, m.projectId, m.projectPath, m.mrIid);
  await db
    .insertInto('messages')
    .values({
      conversation_id: conversationId,
      role: m.role,
      author_id: m.authorId ?? null,
      author_username: m.authorUsername ?? null,
      note_id: m.noteId ?? null,
      content: m.content,
      command: m.command ?? null,
      proposal_id: m.proposalId ?? null,
    })
    .execute();
}

export async function conversationMessages(db: Q, projectId: number, mrIid: number) {
  return db
    .selectFrom('messages')
    .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
    .where('conversations.project_id', '=', projectId)
    .where('conversations.mr_iid', '=', mrIid)
    .where('conversations.session_id', 'is', null)
    .selectAll('messages')
    .orderBy('messages.id')
    .execute();
}

// ---- proposals ----

export function toProposal(r: Selectable<ProposalsTable>): Proposal {
  const n = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    projectId: r.project_id,
    mrIid: r.mr_iid,
    number: r.number,
    status: r.status,
    language: r.language,
    framework: r.framework,
    source: r.source,
    sourceLabel: r.source_label,
    evidence: Array.isArray(r.evidence) ? r.evidence.map(String) : [],
    confidence: (r.confidence as Proposal['confidence']) ?? null,
    validation: (r.validation as Proposal['validation']) ?? null,
    config: r.config,
    dockerfile: r.dockerfile,
    configPath: r.config_path,
    decisionId: r.decision_id,
    hash: r.hash,
    branch: r.branch,
    baseSha: r.base_sha,
    requestedBy: r.requested_by,
    noteId: n(r.note_id),
    discussionId: r.discussion_id,
    approvedBy: r.approved_by,
    previousConfig: r.previous_config,
    previousDockerfile: r.previous_dockerfile,
    commitSha: r.commit_sha,
    outcomePipelineId: n(r.outcome_pipeline_id),
    outcomeStatus: r.outcome_status,
    outcomeNoteId: n(r.outcome_note_id),
    outcomeBody: r.outcome_body,
    rollbackSha: r.rollback_sha,
    createdAt: new Date(r.created_at),
  };
}

export async function createProposal(db: Q, p: NewProposal): Promise<Proposal> {
  // Numbers are per MR; the MR lock makes "max + 1" safe against a concurrent generate.
  return withMergeRequestLock(db, p.projectId, p.mrIid, async (trx) => {
    const conversationId = p.conversationId ?? (await ensureConversation(trx, p.projectId, p.projectPath, p.mrIid));
    const last = await trx
      .selectFrom('proposals')
      .where('project_id', '=', p.projectId)
      .where('mr_iid', '=', p.mrIid)
      .select((eb) => eb.fn.max('number').as('n'))
      .executeTakeFirst();
    const g = p.generated;
    const row = await trx
      .insertInto('proposals')
      .values({
        conversation_id: conversationId,
        project_id: p.projectId,
        mr_iid: p.mrIid,
        number: Number(last?.n ?? 0) + 1,
        status: 'generated',
        language: g.language,
        framework: g.framework,
        source: g.source,
        source_label: g.sourceLabel ?? null,
        evidence: g.evidence,
        confidence: (g.confidence as unknown as Record<string, unknown>) ?? null,
        validation: (g.validation as unknown as Record<string, unknown>) ?? null,
        config: g.config,
        dockerfile: g.dockerfile ?? null,
        config_path: p.configPath,
        decision_id: g.decisionId,
        hash: g.hash,
        branch: p.branch,
        base_sha: p.baseSha,
        requested_by: p.requestedBy,
        discussion_id: p.discussionId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toProposal(row);
  });
}

export async function proposalByNumber(
  db: Q,
  projectId: number,
  mrIid: number,
  number: number,
): Promise<Proposal | null> {
  const r = await db
    .selectFrom('proposals')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('mr_iid', '=', mrIid)
    .where('number', '=', number)
    .executeTakeFirst();
  return r ? toProposal(r) : null;
}

export async function latestProposal(db: Q, projectId: number, mrIid: number): Promise<Proposal | null> {
  const r = await db
    .selectFrom('proposals')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('mr_iid', '=', mrIid)
    .orderBy('number', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toProposal(r) : null;
}

/** The newest proposal that reached the branch, rolled back or not: rollback only ever undoes this one. */
export async function lastCommittedProposal(db: Q, projectId: number, mrIid: number): Promise<Proposal | null> {
  const r = await db
    .selectFrom('proposals')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('mr_iid', '=', mrIid)
    .where('commit_sha', 'is not', null)
    .orderBy('committed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toProposal(r) : null;
}

export async function proposalByNote(db: Q, projectId: number, noteId: number): Promise<Proposal | null> {
  const r = await db
    .selectFrom('proposals')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('note_id', '=', noteId)
    .executeTakeFirst();
  return r ? toProposal(r) : null;
}

/** The proposal whose approval commit this is (newest first, should a sha ever repeat). */
export async function proposalByCommit(db: Q, projectId: number, sha: string): Promise<Proposal | null> {
  const r = await db
    .selectFrom('proposals')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('commit_sha', '=', sha)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toProposal(r) : null;
}

export async function updateProposal(db: Q, id: number, patch: ProposalPatch): Promise<Proposal> {
  const set: Record<string, unknown> = { updated_at: sql`now()` };
  const columns: Record<string, string> = {
    status: 'status',
    noteId: 'note_id',
    discussionId: 'discussion_id',
    approvedBy: 'approved_by',
    previousConfig: 'previous_config',
    previousDockerfile: 'previous_dockerfile',
    commitSha: 'commit_sha',
    outcomePipelineId: 'outcome_pipeline_id',
    outcomeStatus: 'outcome_status',
    outcomeNoteId: 'outcome_note_id',
    outcomeBody: 'outcome_body',
    rollbackSha: 'rollback_sha',
    approvedAt: 'approved_at',
    committedAt: 'committed_at',
    rolledBackAt: 'rolled_back_at',
  };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined && columns[key]) set[columns[key]] = value;
  }
  const r = await db
    .updateTable('proposals')
    .set(set as never)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toProposal(r);
}

/**
 * Runs `fn` in a transaction holding a transaction-scoped advisory lock for one merge request, so two
 * approvals (or an approval and a rollback) on one MR run one after the other, across processes.
 */
export async function withMergeRequestLock<T>(
  db: Q,
  projectId: number,
  mrIid: number,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  const run = async (trx: Transaction<Database>) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`pipeline-learner:mr:${projectId}:${mrIid}`}, 0))`.execute(
      trx,
    );
    return fn(trx);
  };
  if (db.isTransaction) return run(db as Transaction<Database>);
  return (db as Kysely<Database>).transaction().execute(run);
}

/** The CommandStore the runners use, on a database or inside a transaction. */
export function commandStoreFor(db: Q): CommandStore {
  return {
    createProposal: (p) => createProposal(db, p),
    proposal: (projectId, mrIid, n) => proposalByNumber(db, projectId, mrIid, n),
    latestProposal: (projectId, mrIid) => latestProposal(db, projectId, mrIid),
    lastCommittedProposal: (projectId, mrIid) => lastCommittedProposal(db, projectId, mrIid),
    proposalByNote: (projectId, noteId) => proposalByNote(db, projectId, noteId),
    proposalByCommit: (projectId, sha) => proposalByCommit(db, projectId, sha),
    updateProposal: (id, patch) => updateProposal(db, id, patch),
    withMergeRequestLock: (projectId, mrIid, fn) =>
      withMergeRequestLock(db, projectId, mrIid, (trx) => fn(commandStoreFor(trx))),
    addMessage: (m) => addMessage(db, m),
  };
}

// ---- command executions (idempotency) ----

export type ExecutionClaim =
  | { kind: 'new' }
  /** an earlier run got this far: reply already posted (or recorded in dry-run) */
  | { kind: 'replied'; replyNoteId: number | null }
  /** an earlier run started and did not finish: run again (runners are idempotent) */
  | { kind: 'retry'; replyBody: string | null };

export async function claimExecution(
  db: Q,
  e: { key: string; projectId: number; mrIid: number | null; verb: string; jobId: string | null },
): Promise<ExecutionClaim> {
  const inserted = await db
    .insertInto('command_executions')
    .values({ key: e.key, project_id: e.projectId, mr_iid: e.mrIid, verb: e.verb, status: 'started', job_id: e.jobId })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  if (inserted) return { kind: 'new' };
  const row = await db.selectFrom('command_executions').selectAll().where('key', '=', e.key).executeTakeFirstOrThrow();
  if (row.status === 'replied' || row.status === 'done') {
    return { kind: 'replied', replyNoteId: row.reply_note_id === null ? null : Number(row.reply_note_id) };
  }
  await db
    .updateTable('command_executions')
    .set({ job_id: e.jobId, updated_at: sql`now()` })
    .where('key', '=', e.key)
    .execute();
  return { kind: 'retry', replyBody: row.reply_body };
}

export async function execution(db: Q, key: string) {
  return db.selectFrom('command_executions').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function finishExecution(
  db: Q,
  key: string,
  result: { status: 'replied' | 'done'; replyBody?: string | null; replyNoteId?: number | null; error?: string | null },
): Promise<void> {
  await db
    .updateTable('command_executions')
    .set({
      status: result.status,
      reply_body: result.replyBody ?? null,
      reply_note_id: result.replyNoteId ?? null,
      error: result.error ?? null,
      updated_at: sql`now()`,
    })
    .where('key', '=', key)
    .execute();
}

/** The answer, kept before it is posted: a rerun after a crash posts this instead of running the command again. */
export async function recordReplyBody(db: Q, key: string, replyBody: string): Promise<void> {
  await db
    .updateTable('command_executions')
    .set({ reply_body: replyBody, updated_at: sql`now()` })
    .where('key', '=', key)
    .execute();
}

export async function recordExecutionError(db: Q, key: string, error: string): Promise<void> {
  await db.updateTable('command_executions').set({ error, updated_at: sql`now()` }).where('key', '=', key).execute();
}

// ---- rate limits ----

/** Counts one use in the current hour window and returns the count including it. */
export async function countUse(db: Q, scope: string, key: string, at: Date): Promise<number> {
  const windowStart = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
  const row = await db
    .insertInto('command_rate_counters')
    .values({ scope, key, window_start: windowStart, count: 1 })
    .onConflict((oc) =>
      oc.columns(['scope', 'key', 'window_start']).doUpdateSet({ count: sql`command_rate_counters.count + 1` }),
    )
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Windows that started before `before` no longer limit anyone; the retention purge drops them. Returns the count. */
export async function purgeRateCounters(db: Q, before: Date): Promise<number> {
  const r = await db.deleteFrom('command_rate_counters').where('window_start', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
