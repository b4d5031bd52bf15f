import { type QueryCreator, type Selectable, sql } from 'kysely';
import type { Database, Db } from './database.js';
import type { PipelineRunsTable, RunJob } from './tables/core.js';

export interface ProjectRow {
  projectId: number;
  pathWithNamespace: string;
  tenant: string;
  ciConfigPath: string | null;
}

/**
 * Projects seen in events. A project whose row is unchanged and was touched within the last minute is
 * not written again: every pipeline of a busy project would otherwise rewrite (and row-lock until its
 * commit) the same row, and the reconciler's recency order needs no finer grain than that.
 */
export async function upsertProject(db: Db, p: ProjectRow): Promise<void> {
  await projectUpsert(db, p).execute();
}

function projectUpsert(qc: QueryCreator<Database>, p: ProjectRow) {
  const fresh = qc
    .selectFrom('projects')
    .select(sql<number>`1`.as('one'))
    .where('project_id', '=', p.projectId)
    .where('path_with_namespace', '=', p.pathWithNamespace)
    .where('tenant', '=', p.tenant)
    .where('ci_config_path', 'is not distinct from', p.ciConfigPath)
    .where('last_event_at', '>', sql<Date>`now() - interval '60 seconds'`);
  return qc
    .insertInto('projects')
    .columns(['project_id', 'path_with_namespace', 'tenant', 'ci_config_path'])
    .expression(
      qc
        .selectNoFrom([
          sql<number>`cast(${p.projectId} as bigint)`.as('project_id'),
          sql<string>`cast(${p.pathWithNamespace} as text)`.as('path_with_namespace'),
          sql<string>`cast(${p.tenant} as text)`.as('tenant'),
          sql<string | null>`cast(${p.ciConfigPath} as text)`.as('ci_config_path'),
        ])
        .where(({ not, exists }) => not(exists(fresh))),
    )
    .onConflict((oc) =>
      oc.column('project_id').doUpdateSet({
        path_with_namespace: p.pathWithNamespace,
        tenant: p.tenant,
        ci_config_path: p.ciConfigPath,
        last_event_at: sql<Date>`now()`,
      }),
    );
}

export async function knownProjects(db: Db, limit = 1000): Promise<ProjectRow[]> {
  const rows = await db.selectFrom('projects').selectAll().orderBy('last_event_at', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    projectId: Number(r.project_id),
    pathWithNamespace: r.path_with_namespace,
    tenant: r.tenant,
    ciConfigPath: r.ci_config_path,
  }));
}

export interface ConfigurationInput {
  hash: string;
  content: string;
  dockerfile: string | null;
  validYaml: boolean;
  yamlError: string | null;
  language: string;
  framework: string;
  projectPath: string;
}

/** Inserts a configuration the first time its hash is seen; an existing one is never overwritten. */
export async function insertConfiguration(db: Db, c: ConfigurationInput): Promise<boolean> {
  const r = await configurationInsert(db, c).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** First write wins: a configuration is stored once, by hash. */
function configurationInsert(qc: QueryCreator<Database>, c: ConfigurationInput) {
  return qc
    .insertInto('configurations')
    .values({
      hash: c.hash,
      content: c.content,
      dockerfile: c.dockerfile,
      valid_yaml: c.validYaml,
      yaml_error: c.yamlError,
      language: c.language,
      framework: c.framework,
      first_project_path: c.projectPath,
    })
    .onConflict((oc) => oc.column('hash').doNothing());
}

export async function getConfiguration(db: Db, hash: string) {
  return db.selectFrom('configurations').selectAll().where('hash', '=', hash).executeTakeFirst();
}

export interface RunInput {
  pipelineId: number;
  iid: number | null;
  projectId: number;
  projectPath: string;
  tenant: string;
  sha: string;
  ref: string;
  source: string | null;
  status: string;
  durationS: number | null;
  queuedDurationS: number | null;
  jobs: RunJob[];
  failedJobs: RunJob[];
  stagesCount: number;
  configHash: string | null;
  configPath: string;
  language: string;
  framework: string;
  finishedAt: Date | null;
}

export interface RunRow extends RunInput {
  recordedAt: Date;
  updatedAt: Date;
}

/**
 * One row per pipeline: a retried pipeline (same id) updates it. Returns the status it had before (null
 * when this is the first record) and whether a proposal names the run's commit. `also` writes the run's
 * project and configuration in the same statement (data-modifying CTEs; the configuration reference is
 * checked at the statement's end): one round trip per pipeline instead of three.
 */
export async function upsertRun(
  db: Db,
  r: RunInput,
  also: { project?: ProjectRow; configuration?: ConfigurationInput | null } = {},
): Promise<{ previousStatus: string | null; proposalCommit: boolean }> {
  const values = {
    iid: r.iid,
    project_id: r.projectId,
    project_path: r.projectPath,
    tenant: r.tenant,
    sha: r.sha,
    ref: r.ref,
    source: r.source,
    status: r.status,
    duration_s: r.durationS,
    queued_duration_s: r.queuedDurationS,
    jobs: sql<RunJob[]>`cast(${JSON.stringify(r.jobs)} as jsonb)`,
    failed_jobs: sql<RunJob[]>`cast(${JSON.stringify(r.failedJobs)} as jsonb)`,
    stages_count: r.stagesCount,
    config_hash: r.configHash,
    config_path: r.configPath,
    language: r.language,
    framework: r.framework,
    finished_at: r.finishedAt,
  };
  // one statement: every part of a WITH sees the table as it was before the insert, so `before` is
  // the row this upsert replaces
  let qc = db.with('before', (qb) =>
    qb.selectFrom('pipeline_runs').select('status').where('pipeline_id', '=', r.pipelineId),
  );
  // the CTEs below return nothing the statement reads, so the query's row type stays the same
  const { project, configuration } = also;
  if (project) qc = qc.with('project', (q) => projectUpsert(q, project)) as unknown as typeof qc;
  if (configuration)
    qc = qc.with('configuration', (q) => configurationInsert(q, configuration)) as unknown as typeof qc;
  const row = await qc
    .insertInto('pipeline_runs')
    .values({ pipeline_id: r.pipelineId, ...values })
    .onConflict((oc) => oc.column('pipeline_id').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .returning((eb) => [
      eb.selectFrom('before').select('status').as('previous_status'),
      // whether a proposal of ours is this commit: its outcome is then due (saves a lookup per pipeline)
      eb
        .exists(
          eb
            .selectFrom('proposals')
            .select(sql<number>`1`.as('one'))
            .where('proposals.project_id', '=', r.projectId)
            .where('proposals.commit_sha', '=', r.sha),
        )
        .as('proposal_commit'),
    ])
    .executeTakeFirstOrThrow();
  return { previousStatus: row.previous_status ?? null, proposalCommit: row.proposal_commit === true };
}

function toRunRow(r: Selectable<PipelineRunsTable>): RunRow {
  return {
    pipelineId: Number(r.pipeline_id),
    iid: r.iid === null ? null : Number(r.iid),
    projectId: Number(r.project_id),
    projectPath: r.project_path,
    tenant: r.tenant,
    sha: r.sha,
    ref: r.ref,
    source: r.source,
    status: r.status,
    durationS: r.duration_s,
    queuedDurationS: r.queued_duration_s,
    jobs: r.jobs,
    failedJobs: r.failed_jobs,
    stagesCount: r.stages_count,
    configHash: r.config_hash,
    configPath: r.config_path,
    language: r.language,
    framework: r.framework,
    finishedAt: r.finished_at,
    recordedAt: r.recorded_at,
    updatedAt: r.updated_at,
  };
}

export async function getRun(db: Db, pipelineId: number): Promise<RunRow | null> {
  const r = await db.selectFrom('pipeline_runs').selectAll().where('pipeline_id', '=', pipelineId).executeTakeFirst();
  return r ? toRunRow(r) : null;
}

export async function listRuns(db: Db, options: { projectId?: number; limit?: number } = {}): Promise<RunRow[]> {
  let q = db.selectFrom('pipeline_runs').selectAll().orderBy('pipeline_id');
  if (options.projectId !== undefined) q = q.where('project_id', '=', options.projectId);
  if (options.limit) q = q.limit(options.limit);
  return (await q.execute()).map(toRunRow);
}

/** Which of these pipelines already have a run recorded with this status. */
export async function recordedStatuses(db: Db, pipelineIds: number[]): Promise<Map<number, string>> {
  if (pipelineIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('pipeline_runs')
    .select(['pipeline_id', 'status'])
    .where('pipeline_id', 'in', pipelineIds)
    .execute();
  return new Map(rows.map((r) => [Number(r.pipeline_id), r.status]));
}

export interface SuccessfulConfiguration {
  hash: string;
  language: string;
  framework: string;
  content: string;
  dockerfile: string | null;
  tenant: string;
  projectPath: string;
  /** the latest successful run of this configuration */
  pipelineId: number;
  durationS: number | null;
  stagesCount: number;
  finishedAt: Date | null;
  recordedAt: Date;
  runCount: number;
  /** the jobs of the latest successful run (only when asked for with `withJobs`) */
  jobs?: RunJob[];
}

/**
 * One entry per configuration (and tenant, language, framework) that has succeeded, with its latest
 * successful run, newest first. Read from the `config_success` aggregate a trigger keeps (migration
 * 0006), so the cost does not grow with the number of runs. Filters are exact (callers lowercase
 * them); without `tenant` every tenant is covered. `offset` pages through the list.
 */
export async function successfulConfigurations(
  db: Db,
  filter: {
    language?: string;
    framework?: string;
    tenant?: string;
    configHash?: string;
    limit?: number;
    offset?: number;
    /** also the latest successful run's jobs, in the same statement */
    withJobs?: boolean;
  },
): Promise<SuccessfulConfiguration[]> {
  let q = db
    .selectFrom('config_success as s')
    .innerJoin('configurations as c', 'c.hash', 's.config_hash')
    .where('s.success_id', 'is not', null)
    .select([
      'c.hash',
      's.language',
      's.framework',
      'c.content',
      'c.dockerfile',
      's.tenant',
      's.success_project_path',
      's.success_id',
      's.success_duration_s',
      's.success_stages_count',
      's.success_finished_at',
      's.success_recorded_at',
      's.successes',
    ]);
  if (filter.language) q = q.where('s.language', '=', filter.language);
  if (filter.framework) q = q.where('s.framework', '=', filter.framework);
  if (filter.tenant) q = q.where('s.tenant', '=', filter.tenant);
  if (filter.configHash) q = q.where('s.config_hash', '=', filter.configHash);
  const rows = await q
    .$if(filter.withJobs === true, (qb) =>
      qb.leftJoin('pipeline_runs as r', 'r.pipeline_id', 's.success_id').select('r.jobs'),
    )
    .orderBy('s.success_id', 'desc')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute();
  return rows.map((r) => ({
    hash: r.hash,
    language: r.language,
    framework: r.framework,
    content: r.content,
    dockerfile: r.dockerfile,
    tenant: r.tenant,
    projectPath: r.success_project_path ?? '',
    pipelineId: Number(r.success_id),
    durationS: r.success_duration_s === null ? null : Number(r.success_duration_s),
    stagesCount: r.success_stages_count ?? 0,
    finishedAt: r.success_finished_at,
    recordedAt: r.success_recorded_at ?? new Date(0),
    runCount: Number(r.successes),
    ...(filter.withJobs ? { jobs: r.jobs ?? [] } : {}),
  }));
}

/** The aggregate recounted from the runs themselves: what the trigger must keep equal (tests, `doctor`-style checks). */
export async function recountConfigSuccess(db: Db) {
  const rows = await db
    .selectFrom('pipeline_runs')
    .where('config_hash', 'is not', null)
    .select([
      'config_hash',
      'tenant',
      'language',
      'framework',
      (eb) => eb.fn.countAll<number>().as('runs'),
      sql<number>`count(*) filter (where status = 'success')`.as('successes'),
      sql<number | null>`max(pipeline_id) filter (where status = 'success')`.as('success_id'),
    ])
    .groupBy(['config_hash', 'tenant', 'language', 'framework'])
    .execute();
  return rows.map((r) => ({
    key: `${r.config_hash}|${r.tenant}|${r.language}|${r.framework}`,
    runs: Number(r.runs),
    successes: Number(r.successes),
    successId: r.success_id === null ? null : Number(r.success_id),
  }));
}
