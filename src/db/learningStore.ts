import { sql } from 'kysely';
import type { ArmStats } from '../learning/ArmStats.js';
import type { AttributionClass } from '../learning/attribution.js';
import type { ArmSource, LearningContext } from '../learning/Chooser.js';
import type { DecisionRecord } from '../learning/DecisionRecord.js';
import type {
  Ban,
  DecisionFilter,
  JobFailureStat,
  LearningStore,
  StoredFeedback,
  StoredRun,
} from '../learning/LearningStore.js';
import type { ArmEvidence } from '../learning/posterior.js';
import type { RewardParts } from '../learning/reward.js';
import type { Db } from './database.js';

// Query functions for the learning tables; each takes `db` (or a transaction) first.

type Row<T> = { [K in keyof T]: T[K] };

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function whereContext<Q extends { where: (...a: never[]) => Q }>(q: Q, c: LearningContext): Q {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's where overloads do not survive this generic
  const w = q as any;
  return w.where('tenant', '=', c.tenant).where('language', '=', c.language).where('framework', '=', c.framework);
}

/**
 * Creates the context's row if needed and locks it until the transaction ends, in one statement: an
 * `ON CONFLICT DO UPDATE` that changes nothing still takes the row lock `SELECT … FOR UPDATE` would,
 * and returns the row (one round trip while other writers of the context wait, instead of two).
 */
export async function lockContext(db: Db, c: LearningContext): Promise<number> {
  const row = await db
    .insertInto('learning_contexts')
    .values({ ...c, runs: 0 })
    .onConflict((oc) =>
      oc.columns(['tenant', 'language', 'framework']).doUpdateSet((eb) => ({ runs: eb.ref('learning_contexts.runs') })),
    )
    .returning('runs')
    .executeTakeFirstOrThrow();
  return num(row.runs);
}

export async function getContextRuns(db: Db, c: LearningContext): Promise<number> {
  const row = await whereContext(db.selectFrom('learning_contexts').select('runs'), c).executeTakeFirst();
  return row ? num(row.runs) : 0;
}

export async function setContextRuns(db: Db, c: LearningContext, runs: number): Promise<void> {
  await whereContext(db.updateTable('learning_contexts').set({ runs, updated_at: new Date() }), c).execute();
}

function armFromRow(r: Record<string, unknown>): ArmEvidence {
  return {
    hash: String(r.hash),
    source: r.source as ArmSource,
    slot: num(r.slot),
    successes: num(r.successes),
    failures: num(r.failures),
    feedbackPositive: num(r.feedback_positive),
    feedbackNegative: num(r.feedback_negative),
    durationWeight: num(r.duration_weight),
    durationSum: num(r.duration_sum),
    runsTotal: num(r.runs_total),
    successesTotal: num(r.successes_total),
    failureStreak: num(r.failure_streak),
    lastRunSlot: numOrNull(r.last_run_slot),
    lastDurationS: numOrNull(r.last_duration_s),
    stagesCount: numOrNull(r.stages_count),
    brokenAt: numOrNull(r.broken_at),
    brokenRetries: num(r.broken_retries),
  };
}

function armRow(c: LearningContext, a: ArmEvidence) {
  return {
    ...c,
    hash: a.hash,
    source: a.source,
    slot: a.slot,
    successes: a.successes,
    failures: a.failures,
    feedback_positive: a.feedbackPositive,
    feedback_negative: a.feedbackNegative,
    duration_weight: a.durationWeight,
    duration_sum: a.durationSum,
    runs_total: a.runsTotal,
    successes_total: a.successesTotal,
    failure_streak: a.failureStreak,
    last_run_slot: a.lastRunSlot,
    last_duration_s: a.lastDurationS,
    stages_count: a.stagesCount,
    broken_at: a.brokenAt,
    broken_retries: a.brokenRetries,
    updated_at: new Date(),
  };
}

export async function getArms(db: Db, c: LearningContext): Promise<ArmEvidence[]> {
  const rows = await whereContext(db.selectFrom('learning_arms').selectAll(), c).orderBy('hash').execute();
  return rows.map((r) => armFromRow(r as Row<typeof r>));
}

/**
 * Every arm of the `limit` contexts with the most runs (optionally of one tenant), with each
 * context's run count, in ONE query: the metrics scrape and the dashboard index rank many contexts.
 */
export async function getArmsOfTopContexts(
  db: Db,
  o: { limit: number; tenant?: string },
): Promise<Array<LearningContext & { contextRuns: number; arms: ArmEvidence[] }>> {
  const top = db
    .selectFrom('learning_contexts')
    .select(['tenant', 'language', 'framework', 'runs'])
    .$if(o.tenant !== undefined, (q) => q.where('tenant', '=', (o.tenant ?? '').toLowerCase()))
    .orderBy('runs', 'desc')
    .orderBy('tenant')
    .orderBy('language')
    .orderBy('framework')
    .limit(o.limit);
  const rows = await db
    .with('top', () => top)
    .selectFrom('top as c')
    .leftJoin('learning_arms as a', (j) =>
      j
        .onRef('a.tenant', '=', 'c.tenant')
        .onRef('a.language', '=', 'c.language')
        .onRef('a.framework', '=', 'c.framework'),
    )
    .selectAll('a')
    .select(['c.tenant as c_tenant', 'c.language as c_language', 'c.framework as c_framework', 'c.runs as c_runs'])
    .orderBy('c.runs', 'desc')
    .orderBy('c.tenant')
    .orderBy('c.language')
    .orderBy('c.framework')
    .orderBy('a.hash')
    .execute();
  const out: Array<LearningContext & { contextRuns: number; arms: ArmEvidence[] }> = [];
  for (const r of rows as Array<Record<string, unknown>>) {
    let last = out.at(-1);
    if (!last || last.tenant !== r.c_tenant || last.language !== r.c_language || last.framework !== r.c_framework) {
      last = {
        tenant: String(r.c_tenant),
        language: String(r.c_language),
        framework: String(r.c_framework),
        contextRuns: num(r.c_runs),
        arms: [],
      };
      out.push(last);
    }
    if (r.hash !== null && r.hash !== undefined) last.arms.push(armFromRow(r));
  }
  return out;
}

/** Every tenant's arms for the given stacks (one statement however many), in tenant and hash order. */
export async function getArmsForStacks(db: Db, stacks: ReadonlyArray<{ language: string; framework: string }>) {
  if (stacks.length === 0) return [];
  const rows = await db
    .selectFrom('learning_arms as a')
    .innerJoin('learning_contexts as c', (j) =>
      j
        .onRef('c.tenant', '=', 'a.tenant')
        .onRef('c.language', '=', 'a.language')
        .onRef('c.framework', '=', 'a.framework'),
    )
    .selectAll('a')
    .select('c.runs as context_runs')
    .where((eb) =>
      eb.or(stacks.map((s) => eb.and([eb('a.language', '=', s.language), eb('a.framework', '=', s.framework)]))),
    )
    .orderBy('a.tenant')
    .orderBy('a.hash')
    .execute();
  return rows.map((r) => ({
    context: { tenant: r.tenant, language: r.language, framework: r.framework },
    contextRuns: num(r.context_runs),
    arm: armFromRow(r),
  }));
}

export async function putArms(db: Db, c: LearningContext, arms: ArmEvidence[]): Promise<void> {
  if (arms.length === 0) return;
  await db
    .insertInto('learning_arms')
    .values(arms.map((a) => armRow(c, a)))
    .onConflict((oc) =>
      oc.columns(['tenant', 'language', 'framework', 'hash']).doUpdateSet((eb) => ({
        source: eb.ref('excluded.source'),
        slot: eb.ref('excluded.slot'),
        successes: eb.ref('excluded.successes'),
        failures: eb.ref('excluded.failures'),
        feedback_positive: eb.ref('excluded.feedback_positive'),
        feedback_negative: eb.ref('excluded.feedback_negative'),
        duration_weight: eb.ref('excluded.duration_weight'),
        duration_sum: eb.ref('excluded.duration_sum'),
        runs_total: eb.ref('excluded.runs_total'),
        successes_total: eb.ref('excluded.successes_total'),
        failure_streak: eb.ref('excluded.failure_streak'),
        last_run_slot: eb.ref('excluded.last_run_slot'),
        last_duration_s: eb.ref('excluded.last_duration_s'),
        stages_count: eb.ref('excluded.stages_count'),
        broken_at: eb.ref('excluded.broken_at'),
        broken_retries: eb.ref('excluded.broken_retries'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

export async function replaceArms(db: Db, c: LearningContext, arms: ArmEvidence[]): Promise<void> {
  await whereContext(db.deleteFrom('learning_arms'), c).execute();
  await putArms(db, c, arms);
}

function runFromRow(r: Record<string, unknown>, failed: StoredRun['failedJobs']): StoredRun {
  return {
    pipelineId: num(r.pipeline_id),
    context: { tenant: String(r.tenant), language: String(r.language), framework: String(r.framework) },
    projectPath: String(r.project_path),
    hash: String(r.config_hash),
    slot: num(r.slot),
    success: Boolean(r.success),
    durationS: numOrNull(r.duration_s),
    stagesCount: numOrNull(r.stages_count),
    at: iso(r.at),
    failedJobs: failed,
    attribution: (r.attribution as AttributionClass | null) ?? null,
    attributionSummary: (r.attribution_summary as string | null) ?? null,
    testsTotal: numOrNull(r.tests_total),
    testsFailed: numOrNull(r.tests_failed),
    coverage: numOrNull(r.coverage),
  };
}

export async function getRuns(db: Db, pipelineIds: readonly number[]): Promise<StoredRun[]> {
  if (pipelineIds.length === 0) return [];
  const ids = [...pipelineIds];
  // together: one round trip on PostgreSQL (pipelined)
  const [rows, jobs] = await Promise.all([
    db.selectFrom('learning_runs').selectAll().where('pipeline_id', 'in', ids).execute(),
    db
      .selectFrom('learning_job_failures')
      .select(['pipeline_id', 'job_name', 'stage', 'failure_reason', 'allow_failure'])
      .where('pipeline_id', 'in', ids)
      .execute(),
  ]);
  const failed = new Map<number, StoredRun['failedJobs']>();
  for (const j of jobs) {
    const id = num(j.pipeline_id);
    if (!failed.has(id)) failed.set(id, []);
    failed.get(id)!.push({
      name: j.job_name,
      stage: j.stage,
      failure_reason: j.failure_reason,
      allow_failure: Boolean(j.allow_failure),
    });
  }
  return rows.map((r) => runFromRow(r, failed.get(num(r.pipeline_id)) ?? []));
}

/** Writes runs (one row per pipeline id: give each id once) with their failed jobs, in two round trips. */
export async function putRuns(db: Db, runs: readonly StoredRun[]): Promise<void> {
  if (runs.length === 0) return;
  const rows = runs.map((run) => ({
    pipeline_id: run.pipelineId,
    ...run.context,
    project_path: run.projectPath,
    config_hash: run.hash,
    slot: run.slot,
    success: run.success,
    duration_s: run.durationS,
    stages_count: run.stagesCount,
    at: run.at,
    updated_at: new Date(),
    attribution: run.attribution ?? null,
    attribution_summary: run.attributionSummary ?? null,
    tests_total: run.testsTotal ?? null,
    tests_failed: run.testsFailed ?? null,
    coverage: run.coverage ?? null,
  }));
  // together: one round trip on PostgreSQL (pipelined), while the context's lock is held
  await Promise.all([
    db
      .insertInto('learning_runs')
      .values(rows)
      .onConflict((oc) =>
        oc
          .column('pipeline_id')
          // every column of the row but the key, from the row itself
          .doUpdateSet((eb) =>
            Object.fromEntries(
              (Object.keys(rows[0]!) as Array<keyof (typeof rows)[number]>)
                .filter((c) => c !== 'pipeline_id')
                .map((c) => [c, eb.ref(`excluded.${c}`)]),
            ),
          ),
      )
      .execute(),
    db
      .deleteFrom('learning_job_failures')
      .where(
        'pipeline_id',
        'in',
        runs.map((r) => r.pipelineId),
      )
      .execute(),
  ]);
  const failures = runs.flatMap((run) =>
    run.failedJobs.map((j) => ({
      pipeline_id: run.pipelineId,
      ...run.context,
      config_hash: run.hash,
      job_name: j.name,
      stage: j.stage,
      failure_reason: j.failure_reason ?? null,
      allow_failure: Boolean(j.allow_failure),
    })),
  );
  if (failures.length) await db.insertInto('learning_job_failures').values(failures).execute();
}

/** Deletes runs (their failed jobs go with them). */
export async function deleteRuns(db: Db, pipelineIds: readonly number[]): Promise<void> {
  if (pipelineIds.length === 0) return;
  await db
    .deleteFrom('learning_runs')
    .where('pipeline_id', 'in', [...pipelineIds])
    .execute();
}

/**
 * The attribution line of each configuration's latest run that has one, in a context: one backward step
 * of the index learning_runs_arm_slot per configuration, whatever the length of the history.
 */
export async function latestEvidence(db: Db, c: LearningContext): Promise<Map<string, string>> {
  const r = await sql<{ hash: string; summary: string }>`
    select a.hash, r.attribution_summary as summary
      from learning_arms a
      cross join lateral (
        select attribution_summary from learning_runs r
         where r.tenant = a.tenant and r.language = a.language and r.framework = a.framework
           and r.config_hash = a.hash and r.attribution_summary is not null
         order by r.slot desc limit 1) r
     where a.tenant = ${c.tenant} and a.language = ${c.language} and a.framework = ${c.framework}`.execute(db);
  return new Map(r.rows.map((x) => [x.hash, x.summary]));
}

export async function listRuns(db: Db, c: LearningContext): Promise<StoredRun[]> {
  const rows = await whereContext(db.selectFrom('learning_runs').selectAll(), c).orderBy('slot').execute();
  return rows.map((r) => runFromRow(r, []));
}

function decisionRow(d: DecisionRecord) {
  return {
    id: d.id,
    at: d.at,
    policy: d.policy,
    policy_version: d.policyVersion,
    ...d.context,
    context_runs: d.contextRuns,
    arms: d.arms as unknown,
    probabilities: d.probabilities,
    chosen_hash: d.chosenHash,
    kind: d.kind,
    propensity: d.propensity,
    pipeline_id: d.pipelineId,
    reward: d.reward as unknown,
    reward_formula: d.reward?.formulaVersion ?? null,
  };
}

export function decisionFromRow(r: Record<string, unknown>): DecisionRecord {
  return {
    id: String(r.id),
    at: iso(r.at),
    policy: String(r.policy),
    policyVersion: String(r.policy_version),
    context: { tenant: String(r.tenant), language: String(r.language), framework: String(r.framework) },
    contextRuns: num(r.context_runs),
    arms: r.arms as ArmStats[],
    probabilities: (r.probabilities as unknown[]).map(Number),
    chosenHash: String(r.chosen_hash),
    kind: r.kind as DecisionRecord['kind'],
    propensity: num(r.propensity),
    pipelineId: numOrNull(r.pipeline_id),
    reward: (r.reward as RewardParts | null) ?? null,
  };
}

export async function insertDecision(db: Db, d: DecisionRecord): Promise<void> {
  await db.insertInto('learning_decisions').values(decisionRow(d)).execute();
}

export async function getDecision(db: Db, id: string): Promise<DecisionRecord | null> {
  const r = await db.selectFrom('learning_decisions').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? decisionFromRow(r) : null;
}

export async function setDecisionReward(
  db: Db,
  id: string,
  pipelineId: number | null,
  reward: RewardParts | null,
): Promise<void> {
  await db
    .updateTable('learning_decisions')
    .set({ pipeline_id: pipelineId, reward: reward as unknown, reward_formula: reward?.formulaVersion ?? null })
    .where('id', '=', id)
    .execute();
}

export async function decisionsForPipelines(db: Db, pipelineIds: readonly number[]): Promise<DecisionRecord[]> {
  if (pipelineIds.length === 0) return [];
  const rows = await db
    .selectFrom('learning_decisions')
    .selectAll()
    .where('pipeline_id', 'in', [...pipelineIds])
    .execute();
  return rows.map(decisionFromRow);
}

export async function listDecisions(db: Db, filter: DecisionFilter = {}): Promise<DecisionRecord[]> {
  let q = db.selectFrom('learning_decisions').selectAll();
  if (filter.tenant) q = q.where('tenant', '=', filter.tenant);
  if (filter.policy) q = q.where('policy', '=', filter.policy);
  if (filter.since) q = q.where('at', '>=', new Date(filter.since));
  q = q.orderBy('at').orderBy('id');
  if (filter.limit) q = q.limit(filter.limit);
  return (await q.execute()).map(decisionFromRow);
}

function feedbackFromRow(r: Record<string, unknown>): StoredFeedback {
  return {
    decisionId: String(r.decision_id),
    userId: String(r.user_id),
    kind: r.kind as StoredFeedback['kind'],
    value: numOrNull(r.value),
    context: { tenant: String(r.tenant), language: String(r.language), framework: String(r.framework) },
    hash: String(r.config_hash),
    slot: num(r.slot),
    positive: num(r.positive),
    negative: num(r.negative),
    at: iso(r.at),
  };
}

export async function getFeedback(db: Db, decisionId: string, userId: string): Promise<StoredFeedback | null> {
  const r = await db
    .selectFrom('learning_feedback')
    .selectAll()
    .where('decision_id', '=', decisionId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return r ? feedbackFromRow(r) : null;
}

export async function putFeedback(db: Db, f: StoredFeedback): Promise<void> {
  const row = {
    decision_id: f.decisionId,
    user_id: f.userId,
    kind: f.kind,
    value: f.value,
    ...f.context,
    config_hash: f.hash,
    slot: f.slot,
    positive: f.positive,
    negative: f.negative,
    at: f.at,
  };
  await db
    .insertInto('learning_feedback')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['decision_id', 'user_id']).doUpdateSet({ ...row, decision_id: undefined, user_id: undefined }),
    )
    .execute();
}

export async function deleteFeedback(db: Db, decisionId: string, userId: string): Promise<void> {
  await db
    .deleteFrom('learning_feedback')
    .where('decision_id', '=', decisionId)
    .where('user_id', '=', userId)
    .execute();
}

export async function listFeedback(db: Db, c: LearningContext): Promise<StoredFeedback[]> {
  const rows = await whereContext(db.selectFrom('learning_feedback').selectAll(), c)
    .orderBy('slot')
    .orderBy('at')
    .execute();
  return rows.map(feedbackFromRow);
}

export async function listBans(db: Db): Promise<Ban[]> {
  const rows = await db.selectFrom('learning_bans').selectAll().orderBy('hash').execute();
  return rows.map((r) => ({ hash: r.hash, reason: r.reason, at: iso(r.at) }));
}

export async function putBan(db: Db, ban: Ban): Promise<void> {
  await db
    .insertInto('learning_bans')
    .values({ hash: ban.hash, reason: ban.reason, at: ban.at })
    .onConflict((oc) => oc.column('hash').doUpdateSet({ reason: ban.reason, at: ban.at }))
    .execute();
}

export async function deleteBan(db: Db, hash: string): Promise<boolean> {
  const r = await db.deleteFrom('learning_bans').where('hash', '=', hash).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function jobFailureStats(
  db: Db,
  filter: Partial<LearningContext> & { configHash?: string },
): Promise<JobFailureStat[]> {
  let q = db
    .selectFrom('learning_job_failures')
    .select(['config_hash', 'stage', 'job_name', 'failure_reason', 'allow_failure', sql<number>`count(*)`.as('count')])
    .groupBy(['config_hash', 'stage', 'job_name', 'failure_reason', 'allow_failure']);
  if (filter.tenant) q = q.where('tenant', '=', filter.tenant);
  if (filter.language) q = q.where('language', '=', filter.language);
  if (filter.framework) q = q.where('framework', '=', filter.framework);
  if (filter.configHash) q = q.where('config_hash', '=', filter.configHash);
  const rows = await q.orderBy(sql`count(*)`, 'desc').orderBy('stage').orderBy('job_name').execute();
  return rows.map((r) => ({
    configHash: r.config_hash,
    stage: r.stage,
    jobName: r.job_name,
    failureReason: r.failure_reason,
    allowFailure: Boolean(r.allow_failure),
    count: Number(r.count),
  }));
}

export async function forgetProject(
  db: Db,
  projectPath: string,
): Promise<{ contexts: LearningContext[]; runs: number }> {
  const rows = await db
    .selectFrom('learning_runs')
    .select(['pipeline_id', 'tenant', 'language', 'framework'])
    .where('project_path', '=', projectPath)
    .execute();
  if (rows.length === 0) return { contexts: [], runs: 0 };
  const ids = rows.map((r) => num(r.pipeline_id));
  await db
    .updateTable('learning_decisions')
    .set({ pipeline_id: null, reward: null, reward_formula: null })
    .where('pipeline_id', 'in', ids)
    .execute();
  await db.deleteFrom('learning_runs').where('project_path', '=', projectPath).execute();
  const seen = new Map<string, LearningContext>();
  for (const r of rows) seen.set(`${r.tenant}\0${r.language}\0${r.framework}`, r);
  return {
    contexts: [...seen.values()].map((c) => ({ tenant: c.tenant, language: c.language, framework: c.framework })),
    runs: rows.length,
  };
}

export async function forgetTenant(db: Db, tenant: string): Promise<{ runs: number }> {
  return db.isTransaction ? forgetTenantIn(db, tenant) : db.transaction().execute((trx) => forgetTenantIn(trx, tenant));
}

/** The learner's storage port over Kysely; inside `transaction` every call uses the transaction. */
export function createLearningStore(db: Db): LearningStore {
  return {
    transaction: (fn) =>
      db.isTransaction ? fn(createLearningStore(db)) : db.transaction().execute((trx) => fn(createLearningStore(trx))),
    lockContext: (c) => lockContext(db, c),
    getContextRuns: (c) => getContextRuns(db, c),
    setContextRuns: (c, runs) => setContextRuns(db, c, runs),
    getArms: (c) => getArms(db, c),
    getArmsForStacks: (stacks) => getArmsForStacks(db, stacks),
    putArms: (c, arms) => putArms(db, c, arms),
    replaceArms: (c, arms) => replaceArms(db, c, arms),
    getRuns: (ids) => getRuns(db, ids),
    putRuns: (runs) => putRuns(db, runs),
    deleteRuns: (ids) => deleteRuns(db, ids),
    listRuns: (c) => listRuns(db, c),
    latestEvidence: (c) => latestEvidence(db, c),
    insertDecision: (d) => insertDecision(db, d),
    getDecision: (id) => getDecision(db, id),
    setDecisionReward: (id, p, r) => setDecisionReward(db, id, p, r),
    decisionsForPipelines: (ids) => decisionsForPipelines(db, ids),
    listDecisions: (f) => listDecisions(db, f),
    getFeedback: (d, u) => getFeedback(db, d, u),
    putFeedback: (f) => putFeedback(db, f),
    deleteFeedback: (d, u) => deleteFeedback(db, d, u),
    listFeedback: (c) => listFeedback(db, c),
    listBans: () => listBans(db),
    putBan: (b) => putBan(db, b),
    deleteBan: (h) => deleteBan(db, h),
    jobFailureStats: (f) => jobFailureStats(db, f),
    forgetProject: (p) => forgetProject(db, p),
    forgetTenant: (t) => forgetTenant(db, t),
  };
}

async function forgetTenantIn(trx: Db, tenant: string): Promise<{ runs: number }> {
  const r = await trx.deleteFrom('learning_runs').where('tenant', '=', tenant).executeTakeFirst();
  await trx.deleteFrom('learning_feedback').where('tenant', '=', tenant).execute();
  await trx.deleteFrom('learning_decisions').where('tenant', '=', tenant).execute();
  await trx.deleteFrom('learning_arms').where('tenant', '=', tenant).execute();
  await trx.deleteFrom('learning_contexts').where('tenant', '=', tenant).execute();
  return { runs: Number(r.numDeletedRows) };
}
