#!/usr/bin/env node
// Processing against history (issue 10): on PostgreSQL, the job cost on an empty store and after
// 1M recorded runs (plus 1M finished jobs), the read endpoints' p95 at 1M runs, storage bytes per
// run, and a short soak. The service runs as `serve` against the fake GitLab (its own process, no
// rate limit). Prints figures; asserts nothing.
//   npm run bench:scale     (BENCH_RUNS=1000000, BENCH_JOBS=300, BENCH_SOAK_S=120, BENCH_SOAK_RATE=20,
//                            BENCH_READS=40, BENCH_SOAK_WORKERS=0; DATABASE_URL of an empty database to use a
//                            server of your own)
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFakes } from './support/fakes.mjs';
import { startEmbeddedPostgres } from './support/postgres.mjs';
import { post, startChild, startFakeGitLab, treeRssMb } from './support/procs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 1_000_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 300);
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 120);
const SOAK_RATE = Number(process.env.BENCH_SOAK_RATE ?? 20);
const READS = Number(process.env.BENCH_READS ?? 40);
// the soak's service: `serve --workers N` when set (PostgreSQL's worker processes), one process otherwise
const SOAK_WORKERS = Number(process.env.BENCH_SOAK_WORKERS ?? 0);
const STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';
const SECRET = 'bench-webhook-secret';
const API = 'bench-api-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

process.env.BENCH_PIPELINES ??= String(2 * JOBS + SOAK_S * SOAK_RATE + 100);

async function main() {
  const { openDatabase, migrateToLatest } = await import(pathToFileURL(join(root, 'dist/db/openDatabase.js')).href);
  const { sql } = await import('kysely');
  const gl = await startFakeGitLab(buildFakes(root));
  const pg = process.env.DATABASE_URL ? null : await startEmbeddedPostgres({ statements: STATEMENTS });
  const databaseUrl = process.env.DATABASE_URL ?? (await pg.fresh());
  const store = await openDatabase({ databaseUrl, dataDir: '/tmp' });
  await migrateToLatest(store.db);
  const q = async (text) => (await sql.raw(text).execute(store.db)).rows;
  const env = {
    DATABASE_URL: databaseUrl,
    DATA_DIR: '/tmp/pl-bench-scale',
    PORT: '0',
    HOST: '127.0.0.1',
    GITLAB_URL: gl.url,
    GITLAB_TOKEN: gl.token,
    GITLAB_WEBHOOK_SECRET: SECRET,
    API_TOKEN: API,
    RECONCILE_INTERVAL_S: '0',
    LOG_LEVEL: 'warn',
    // no client-side GitLab rate limit unless asked for (BENCH_GITLAB_RATE_LIMIT=2000: GitLab.com's)
    PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: process.env.BENCH_GITLAB_RATE_LIMIT ?? '0',
  };
  let nextId = gl.firstId;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const deliver = (url) => {
    const id = nextId++;
    const uuid = randomUUID();
    const t = gl.hook.body;
    const body = JSON.stringify({
      ...t,
      object_attributes: { ...t.object_attributes, id, iid: id - gl.firstId + 1 },
    });
    return post(agent, `${url}/webhooks/gitlab`, body, {
      ...gl.hook.headers,
      'content-type': 'application/json',
      'x-gitlab-token': SECRET,
      'x-gitlab-event-uuid': uuid,
      'idempotency-key': uuid,
      'webhook-id': uuid,
    });
  };
  const doneJobs = async () =>
    Number((await q(`select count(*)::int n from jobs where status = 'done' and kind <> 'bench'`))[0].n);
  // polled while jobs run: queued and running jobs only (their partial indexes), never a count
  // over the million finished jobs, which would cost the database more than the jobs being measured
  const openJobs = async () =>
    Number((await q(`select count(*)::int n from jobs where status in ('queued', 'running')`))[0].n);

  /**
   * Delivers JOBS pipelines at once and times their jobs at the drain: ms per job between the first
   * tenth done and the last, so the service's start and the first jobs' warm-up are not counted.
   * With BENCH_PG_STATEMENTS=1, the statements that took the most database time in the sample.
   */
  async function jobCost(label) {
    const s = startChild([join(root, 'dist/cli.js'), 'serve'], env);
    const url = await s.url;
    const before = await doneJobs();
    if (STATEMENTS) await q('select pg_stat_statements_reset()');
    const t0 = Date.now();
    const res = await Promise.all(Array.from({ length: JOBS }, () => deliver(url)));
    const accepted = res.filter((r) => r.status === 202).length;
    const tenth = Math.ceil(accepted / 10);
    let tTenth = 0;
    // every delivery enqueued its job with its 202, so open jobs are the accepted ones not yet done
    for (;;) {
      const open = await openJobs();
      if (!tTenth && open <= accepted - tenth) tTenth = Date.now();
      if (open === 0 || Date.now() - t0 > 600_000) break;
      await sleep(50);
    }
    const ms = Date.now() - t0;
    const perJob = (Date.now() - tTenth) / (accepted - tenth);
    const done = (await doneJobs()) - before;
    if (done !== accepted) console.log(`  ${accepted - done} of ${accepted} accepted jobs not done`);
    s.child.kill('SIGTERM');
    await s.exited;
    console.log(
      `${label}: ${accepted} jobs in ${(ms / 1000).toFixed(1)} s (start included); ${perJob.toFixed(1)} ms per job after the first tenth`,
    );
    if (STATEMENTS) {
      const top = await q(`select calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 140) as query
                             from pg_stat_statements where query not like '%pg_stat_statements%' and query not like '%from jobs where status in%'
                            order by total_exec_time desc limit ${Number(process.env.BENCH_PG_STATEMENTS_TOP ?? 8)}`);
      for (const t of top)
        console.log(
          `  ${(t.total_exec_time / accepted).toFixed(2).padStart(6)} ms/job  ${String(t.calls).padStart(6)} calls  ${t.query}`,
        );
    }
    return perJob;
  }

  const size = async () =>
    Number(
      (
        await q(
          `select (pg_total_relation_size('pipeline_runs') + pg_total_relation_size('config_success'))::bigint as b`,
        )
      )[0].b,
    );

  console.log(
    `scale benchmark on PostgreSQL; ${RUNS} runs, ${JOBS} jobs per cost sample, soak ${SOAK_S} s at ${SOAK_RATE}/s\n`,
  );
  const emptyCost = await jobCost('job cost, empty store');

  // history: RUNS runs over 1,000 configurations (10 tenants, 20 languages) and a tenth of them on
  // the configuration the benchmark's pipelines use (per-job rescans would show there), plus as many
  // finished jobs. Loaded with the trigger off and the aggregate rebuilt the way migration 0006 does.
  const [own] = await q(`select hash, language, framework from configurations limit 1`);
  const [ownRun] = await q(`select tenant, project_path from pipeline_runs limit 1`);
  const sizeBefore = await size();
  const countBefore = Number((await q(`select count(*)::int n from pipeline_runs`))[0].n);
  const t0 = Date.now();
  await q(`insert into configurations (hash, content, dockerfile, valid_yaml, yaml_error, language, framework, first_project_path)
           select 'bench-' || i, 'stages: [test]\ntest:\n  script: [echo ' || i || ']\n', null, true, null,
                  'lang' || (i % 20), 'generic', 't' || (i % 10) || '/p' || i
             from generate_series(1, 1000) i`);
  await q(`alter table pipeline_runs disable trigger pipeline_runs_config_success`);
  const chunk = 100_000;
  for (let from = 1; from <= RUNS; from += chunk) {
    const to = Math.min(RUNS, from + chunk - 1);
    await q(`insert into pipeline_runs (pipeline_id, iid, project_id, project_path, tenant, sha, ref, source, status,
               duration_s, queued_duration_s, jobs, failed_jobs, stages_count, config_hash, config_path, language, framework, finished_at)
             select i, i, 1 + i % 5000,
                    case when i % 10 = 0 then '${ownRun.project_path}' else 't' || (i % 1000 % 10) || '/p' || (i % 1000) end,
                    case when i % 10 = 0 then '${ownRun.tenant}' else 't' || (i % 1000 % 10) end,
                    md5(i::text) || 'abcdefgh', 'main', 'push', case when i % 4 = 0 then 'failed' else 'success' end,
                    30 + i % 300, 1, '[{"name":"test","stage":"test","status":"success"}]'::jsonb, '[]'::jsonb, 1,
                    case when i % 10 = 0 then '${own.hash}' else 'bench-' || (1 + i % 1000) end, '.gitlab-ci.yml',
                    case when i % 10 = 0 then '${own.language}' else 'lang' || ((1 + i % 1000) % 20) end,
                    case when i % 10 = 0 then '${own.framework}' else 'generic' end,
                    now() - make_interval(secs => ${RUNS} - i)
               from generate_series(${from}, ${to}) i`);
    await q(`insert into jobs (kind, payload, status, max_attempts, attempts, finished_at)
             select 'bench', '{}'::jsonb, 'done', 5, 1, now() from generate_series(${from}, ${to}) i`);
  }
  // the learner's own history of the benchmark's context: a tenth of the runs, with attribution lines
  // (what `/pipeline best`, `stats` and `learn/best?tenant=` show per configuration)
  const [arm] = await q(`select tenant, language, framework from learning_arms where hash = '${own.hash}' limit 1`);
  if (arm) {
    await q(`insert into learning_runs (pipeline_id, tenant, language, framework, project_path, config_hash, slot, success,
               duration_s, stages_count, at, attribution, attribution_summary)
             select 10000000 + i, '${arm.tenant}', '${arm.language}', '${arm.framework}', '${ownRun.project_path}', '${own.hash}',
                    i - ${RUNS / 10}, i % 4 <> 0, 30 + i % 300, 1, now() - make_interval(secs => ${RUNS} - i),
                    case when i % 4 = 0 then 'broken' else 'works' end,
                    case when i % 4 = 0 then 'red before any test ran' else 'green: 12 tests passed' end
               from generate_series(1, ${RUNS / 10}) i`);
  }
  await q(`alter table pipeline_runs enable trigger pipeline_runs_config_success`);
  await q(`delete from config_success`);
  await q(`insert into config_success (config_hash, tenant, language, framework, runs, successes, last_run_id, last_run_at)
           select config_hash, tenant, language, framework, count(*), count(*) filter (where status = 'success'), max(pipeline_id), max(updated_at)
             from pipeline_runs where config_hash is not null group by 1, 2, 3, 4`);
  await q(`update config_success c set success_id = s.pipeline_id, success_project_path = s.project_path,
             success_duration_s = s.duration_s, success_stages_count = s.stages_count,
             success_finished_at = s.finished_at, success_recorded_at = s.recorded_at
           from (select distinct on (config_hash, tenant, language, framework) * from pipeline_runs
                  where status = 'success' and config_hash is not null
                  order by config_hash, tenant, language, framework, pipeline_id desc) s
           where c.config_hash = s.config_hash and c.tenant = s.tenant and c.language = s.language and c.framework = s.framework`);
  // as a store that has grown over months would be: vacuumed (visibility map set), analysed, the
  // load's dirty pages written out; otherwise autovacuum and the checkpoint run during the sample
  await q('vacuum analyze');
  await q('checkpoint');
  const loadS = (Date.now() - t0) / 1000;
  const added = Number((await q(`select count(*)::int n from pipeline_runs`))[0].n) - countBefore;
  const bytesPerRun = ((await size()) - sizeBefore) / added;
  console.log(
    `history: ${added} runs and ${RUNS} finished jobs loaded in ${loadS.toFixed(0)} s; pipeline_runs + indexes + config_success: ${bytesPerRun.toFixed(0)} bytes per run`,
  );

  // the database's share of the reads: the aggregate query itself
  for (const [name, where] of [
    ['unfiltered', ''],
    ['language', "and s.language = 'lang3' and s.framework = 'generic'"],
    ['tenant', "and s.tenant = 't3'"],
  ]) {
    const [plan] = await q(`explain (analyze, format json) select c.hash, c.content, s.* from config_success s
      join configurations c on c.hash = s.config_hash where s.success_id is not null ${where}
      order by s.success_id desc limit 100`);
    console.log(
      `config_success query (${name}): ${plan['QUERY PLAN'][0]['Execution Time'].toFixed(2)} ms in the database`,
    );
  }

  const fullCost = await jobCost(`job cost, ${added} runs recorded`);

  // read endpoints at 1M runs
  const s = startChild([join(root, 'dist/cli.js'), 'serve'], env);
  const url = await s.url;
  const reads = {
    'learn/successful': '/api/v1/pipeline/learn/successful?limit=100',
    'learn/successful?language': '/api/v1/pipeline/learn/successful?language=lang3&framework=generic',
    'learn/successful?tenant': `/api/v1/pipeline/learn/successful?tenant=t3`,
    'learn/best': `/api/v1/pipeline/learn/best?language=${own.language}&framework=${own.framework}`,
    'learn/best?tenant': `/api/v1/pipeline/learn/best?language=${own.language}&framework=${own.framework}&tenant=${ownRun.tenant}`,
    'report/contexts': '/api/v1/report/contexts',
    metrics: '/metrics',
  };
  const readFigures = [];
  for (const [name, path] of Object.entries(reads)) {
    const ms = [];
    let status = 0;
    for (let i = 0; i < READS; i++) {
      const t = performance.now();
      const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${API}` } });
      await r.arrayBuffer();
      status = r.status;
      ms.push(performance.now() - t);
    }
    readFigures.push({ name, status, p50: pct(ms, 50), p95: pct(ms, 95) });
  }
  for (const r of readFigures)
    console.log(`read ${r.name.padEnd(28)} HTTP ${r.status}  p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms`);

  // soak: a steady rate through the same service (or one with worker processes), RSS of its process
  // tree and the queue's age
  let soakService = { s, url };
  if (SOAK_WORKERS > 0) {
    s.child.kill('SIGTERM');
    await s.exited;
    const w = startChild([join(root, 'dist/cli.js'), 'serve', '--workers', String(SOAK_WORKERS)], env);
    soakService = { s: w, url: await w.url };
  }
  const soakStart = Date.now();
  const rss = [];
  const ages = [];
  let accepted = 0;
  // answers other than 202, by HTTP status or the connection's error code
  const refused = new Map();
  const doneBefore = await doneJobs();
  const inflight = [];
  for (let i = 0; Date.now() - soakStart < SOAK_S * 1000; i++) {
    const due = soakStart + (i * 1000) / SOAK_RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    inflight.push(
      deliver(soakService.url).then((r) => {
        if (r.status === 202) accepted++;
        else {
          const why = r.status === 0 ? `connection error ${r.code ?? ''}`.trim() : `HTTP ${r.status}`;
          refused.set(why, (refused.get(why) ?? 0) + 1);
        }
      }),
    );
    if (i % (SOAK_RATE * 5) === 0) {
      rss.push(treeRssMb(soakService.s.child.pid));
      const [a] = await q(
        `select coalesce(extract(epoch from now() - min(run_at)), 0)::float8 as age from jobs where status = 'queued'`,
      );
      ages.push(Number(a.age));
    }
  }
  await Promise.all(inflight);
  const t1 = Date.now();
  while ((await openJobs()) > 0 && Date.now() - t1 < 120_000) await sleep(500);
  const lost = accepted - ((await doneJobs()) - doneBefore);
  soakService.s.child.kill('SIGTERM');
  await soakService.s.exited;
  console.log(
    `soak ${SOAK_S} s at ${SOAK_RATE}/s${SOAK_WORKERS ? ` (serve --workers ${SOAK_WORKERS})` : ''}: ${accepted} accepted, ${[...refused.values()].reduce((a, b) => a + b, 0)} not accepted${refused.size ? ` (${[...refused].map(([why, n]) => `${n}× ${why}`).join(', ')})` : ''}, ${lost} accepted but not done after 120 s; RSS (MB, every 5 s) ${rss.join(' ')}; oldest queued job (s) max ${Math.max(...ages).toFixed(1)}`,
  );

  console.log(`\njob cost with ${added} runs / empty store: ${(fullCost / emptyCost).toFixed(2)}× (aim ≤ 1.20×)`);
  console.log(
    `read p95 aim < 50 ms: ${readFigures.map((r) => `${r.name} ${r.p95 < 50 ? 'met' : 'NOT met'}`).join(', ')}`,
  );
  agent.destroy();
  await store.close();
  gl.child.kill('SIGTERM');
  if (pg) await pg.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
