import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
// Issue 10: processing cost independent of history.
// - `config_success`: one row per configuration and context (hash, tenant, language, framework),
//   kept by a trigger on pipeline_runs: runs, successes, the latest run and the latest successful
//   run's fields. /learn/successful, /learn/best, learned candidates and the per-job vector
//   document read it instead of windowing every run.
// - `jobs_open`: a partial index on the jobs still to run, so a claim does not walk finished jobs.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('config_success')
    .addColumn('config_hash', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('framework', 'text', (c) => c.notNull())
    .addColumn('runs', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('successes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_run_id', 'bigint')
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('success_id', 'bigint')
    .addColumn('success_project_path', 'text')
    .addColumn('success_duration_s', 'double precision')
    .addColumn('success_stages_count', 'integer')
    .addColumn('success_finished_at', 'timestamptz')
    .addColumn('success_recorded_at', 'timestamptz')
    .addPrimaryKeyConstraint('config_success_pk', ['config_hash', 'tenant', 'language', 'framework'])
    .execute();
  await sql`create index config_success_latest on config_success (success_id desc) where success_id is not null`.execute(
    db,
  );
  await sql`create index config_success_tenant on config_success (tenant, language, framework, success_id desc) where success_id is not null`.execute(
    db,
  );
  await sql`create index config_success_stack on config_success (language, framework, success_id desc) where success_id is not null`.execute(
    db,
  );
  // finds the next-latest success when the latest one is retried into failure or forgotten
  await sql`create index pipeline_runs_success on pipeline_runs (config_hash, tenant, language, framework, pipeline_id desc) where status = 'success'`.execute(
    db,
  );

  await sql`
create function config_success_track() returns trigger language plpgsql as $$
declare
  same_key boolean := false;
  n_id bigint; n_path text; n_dur double precision; n_stages integer; n_fin timestamptz; n_rec timestamptz;
begin
  if tg_op = 'UPDATE' then
    same_key := old.config_hash is not distinct from new.config_hash and old.tenant = new.tenant
      and old.language = new.language and old.framework = new.framework;
  end if;

  -- take the old row out of its aggregate (an update with the same key and status changes no counts)
  if tg_op <> 'INSERT' and old.config_hash is not null
     and not (same_key and old.status = new.status) then
    update config_success c
       set runs = c.runs - 1, successes = c.successes - (old.status = 'success')::int
     where c.config_hash = old.config_hash and c.tenant = old.tenant
       and c.language = old.language and c.framework = old.framework;
  end if;

  -- put the new row in
  if tg_op <> 'DELETE' and new.config_hash is not null then
    if same_key and old.status = new.status then
      update config_success c set last_run_at = now()
       where c.config_hash = new.config_hash and c.tenant = new.tenant
         and c.language = new.language and c.framework = new.framework;
    else
      insert into config_success as c (config_hash, tenant, language, framework, runs, successes, last_run_id, last_run_at)
      values (new.config_hash, new.tenant, new.language, new.framework, 1, (new.status = 'success')::int, new.pipeline_id, now())
      on conflict (config_hash, tenant, language, framework) do update
        set runs = c.runs + 1, successes = c.successes + excluded.successes,
            last_run_id = greatest(c.last_run_id, excluded.last_run_id), last_run_at = now();
    end if;
    if new.status = 'success' then
      update config_success c
         set success_id = new.pipeline_id, success_project_path = new.project_path,
             success_duration_s = new.duration_s, success_stages_count = new.stages_count,
             success_finished_at = new.finished_at, success_recorded_at = new.recorded_at
       where c.config_hash = new.config_hash and c.tenant = new.tenant
         and c.language = new.language and c.framework = new.framework
         and (c.success_id is null or c.success_id <= new.pipeline_id);
    end if;
  end if;

  -- the old row was its aggregate's latest success and no longer is: take the next one (index lookup)
  if tg_op <> 'INSERT' and old.config_hash is not null and old.status = 'success'
     and (tg_op = 'DELETE' or not same_key or new.status <> 'success') then
    select r.pipeline_id, r.project_path, r.duration_s, r.stages_count, r.finished_at, r.recorded_at
      into n_id, n_path, n_dur, n_stages, n_fin, n_rec
      from pipeline_runs r
     where r.config_hash = old.config_hash and r.tenant = old.tenant
       and r.language = old.language and r.framework = old.framework and r.status = 'success'
     order by r.pipeline_id desc limit 1;
    update config_success c
       set success_id = n_id, success_project_path = n_path, success_duration_s = n_dur,
           success_stages_count = n_stages, success_finished_at = n_fin, success_recorded_at = n_rec
     where c.config_hash = old.config_hash and c.tenant = old.tenant
       and c.language = old.language and c.framework = old.framework and c.success_id = old.pipeline_id;
  end if;

  if tg_op <> 'INSERT' and old.config_hash is not null then
    delete from config_success c
     where c.config_hash = old.config_hash and c.tenant = old.tenant
       and c.language = old.language and c.framework = old.framework and c.runs <= 0;
  end if;
  return null;
end
$$`.execute(db);
  await sql`create trigger pipeline_runs_config_success after insert or update or delete on pipeline_runs
    for each row execute function config_success_track()`.execute(db);

  // runs recorded before this migration
  await sql`
insert into config_success (config_hash, tenant, language, framework, runs, successes, last_run_id, last_run_at)
select config_hash, tenant, language, framework, count(*), count(*) filter (where status = 'success'),
       max(pipeline_id), max(updated_at)
  from pipeline_runs where config_hash is not null
 group by config_hash, tenant, language, framework`.execute(db);
  await sql`
update config_success c
   set success_id = s.pipeline_id, success_project_path = s.project_path, success_duration_s = s.duration_s,
       success_stages_count = s.stages_count, success_finished_at = s.finished_at, success_recorded_at = s.recorded_at
  from (select distinct on (config_hash, tenant, language, framework) *
          from pipeline_runs where status = 'success' and config_hash is not null
         order by config_hash, tenant, language, framework, pipeline_id desc) s
 where c.config_hash = s.config_hash and c.tenant = s.tenant and c.language = s.language and c.framework = s.framework`.execute(
    db,
  );

  await sql`create index jobs_open on jobs (run_at, id) where status in ('queued', 'running')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists jobs_open`.execute(db);
  await sql`drop trigger if exists pipeline_runs_config_success on pipeline_runs`.execute(db);
  await sql`drop function if exists config_success_track()`.execute(db);
  await sql`drop index if exists pipeline_runs_success`.execute(db);
  await db.schema.dropTable('config_success').ifExists().execute();
}
