import { type Kysely, sql } from 'kysely';

// Frozen once released: later changes get a new migration.
// Issue 10 (reads independent of history), for the learner's own run history (learning_runs):
// - learning_runs_arm_slot: the latest attribution line of each configuration in a context is one
//   backward index step per configuration, instead of reading every run of the context on each
//   `/pipeline best`, `stats` and dashboard stack page;
// - learning_daily: runs, successes, durations and attribution classes per context, configuration and
//   UTC day, kept by a trigger on learning_runs (inserts, retried pipelines whose outcome changes,
//   deletes by `forget`), so the dashboard's trends and breakdowns read at most one row per
//   configuration and day instead of aggregating every run of the window.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('learning_runs_arm_slot')
    .on('learning_runs')
    .columns(['tenant', 'language', 'framework', 'config_hash', 'slot'])
    .execute();

  await sql`
create table learning_daily (
  tenant text not null,
  language text not null,
  framework text not null,
  config_hash text not null,
  day date not null,
  runs integer not null default 0,
  successes integer not null default 0,
  duration_sum double precision not null default 0,
  duration_n integer not null default 0,
  works integer not null default 0,
  broken integer not null default 0,
  no_evidence integer not null default 0,
  weak integer not null default 0,
  partial integer not null default 0,
  flaky integer not null default 0,
  primary key (tenant, language, framework, config_hash, day)
)`.execute(db);
  await sql`create index learning_daily_day on learning_daily (day)`.execute(db);

  // One row of learning_runs counted in (sign 1) or out (sign -1). Runs recorded before attribution
  // existed count as green = works, red = broken, as everywhere else.
  await sql`
create function learning_daily_count(r learning_runs, sign integer) returns void language plpgsql as $$
declare
  cls text := coalesce(r.attribution, case when r.success then 'works' else 'broken' end);
begin
  insert into learning_daily as d (tenant, language, framework, config_hash, day, runs, successes, duration_sum,
                                   duration_n, works, broken, no_evidence, weak, partial, flaky)
  values (r.tenant, r.language, r.framework, r.config_hash, (r.at at time zone 'UTC')::date, sign,
          case when r.success then sign else 0 end, coalesce(r.duration_s, 0) * sign,
          case when r.duration_s is null then 0 else sign end,
          case when cls = 'works' then sign else 0 end, case when cls = 'broken' then sign else 0 end,
          case when cls = 'no_evidence' then sign else 0 end, case when cls = 'weak' then sign else 0 end,
          case when cls = 'partial' then sign else 0 end, case when cls = 'flaky' then sign else 0 end)
  on conflict (tenant, language, framework, config_hash, day) do update
     set runs = d.runs + excluded.runs, successes = d.successes + excluded.successes,
         duration_sum = d.duration_sum + excluded.duration_sum, duration_n = d.duration_n + excluded.duration_n,
         works = d.works + excluded.works, broken = d.broken + excluded.broken,
         no_evidence = d.no_evidence + excluded.no_evidence, weak = d.weak + excluded.weak,
         partial = d.partial + excluded.partial, flaky = d.flaky + excluded.flaky;
end $$`.execute(db);
  await sql`
create function learning_daily_track() returns trigger language plpgsql as $$
begin
  if tg_op <> 'INSERT' then perform learning_daily_count(old, -1); end if;
  if tg_op <> 'DELETE' then perform learning_daily_count(new, 1); end if;
  return null;
end $$`.execute(db);
  await sql`create trigger learning_runs_daily after insert or update or delete on learning_runs
    for each row execute function learning_daily_track()`.execute(db);

  // the history recorded so far
  await sql`
insert into learning_daily (tenant, language, framework, config_hash, day, runs, successes, duration_sum, duration_n,
                            works, broken, no_evidence, weak, partial, flaky)
select tenant, language, framework, config_hash, (at at time zone 'UTC')::date, count(*), count(*) filter (where success),
       coalesce(sum(duration_s), 0), count(duration_s),
       count(*) filter (where c = 'works'), count(*) filter (where c = 'broken'), count(*) filter (where c = 'no_evidence'),
       count(*) filter (where c = 'weak'), count(*) filter (where c = 'partial'), count(*) filter (where c = 'flaky')
  from (select *, coalesce(attribution, case when success then 'works' else 'broken' end) as c from learning_runs) r
 group by 1, 2, 3, 4, 5`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists learning_runs_daily on learning_runs`.execute(db);
  await sql`drop function if exists learning_daily_track()`.execute(db);
  await sql`drop function if exists learning_daily_count(learning_runs, integer)`.execute(db);
  await sql`drop table if exists learning_daily`.execute(db);
  await sql`drop index if exists learning_runs_arm_slot`.execute(db);
}
