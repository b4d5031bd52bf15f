#!/usr/bin/env node
// Observability costs, on the embedded store, in this process. Prints figures; asserts nothing.
//   npm run bench:observability   (BENCH_RUNS: repetitions per figure, default 7; BENCH_DELIVERIES per run, default 1000;
//   BENCH_ONLY=scrape,pages,overhead picks parts)
// 1. GET /metrics with 1,000 learning contexts: every scrape reading the database, and with the
//    default PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S (figures kept, refreshed in the background).
// 2. Dashboard pages (server time through the app) on a store with 100,000 runs.
// 3. Metrics overhead: CPU time per webhook delivery with metrics on and off (median of runs).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { loadConfig } = await dist('config.js');
const { migrateToLatest, openPGlite } = await dist('db/openDatabase.js');
const { createLogger } = await dist('log.js');
const { startOnStore } = await dist('main.js');

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 1000);
const TOKEN = 'bench-api-token';
const SECRET = 'bench-webhook-secret';
const auth = { authorization: `Bearer ${TOKEN}` };
const payload = readFileSync(join(root, 'test/fakes/payloads/pipeline_success.json'), 'utf8');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

async function service(store, env = {}, parts = {}) {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RECONCILE_INTERVAL_S: '0',
    GITLAB_WEBHOOK_SECRET: SECRET,
    API_TOKEN: TOKEN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-bench-obs-')),
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startOnStore(config, store, { log: createLogger({ level: 'silent' }), gitlab: null, ...parts });
}

/**
 * `contexts` stacks with three arms each and `runs` pipeline runs spread over 60 days, written with
 * set-based SQL (the learner's own writes would take minutes at this size; the rows are the same shape).
 */
async function seed(db, contexts, runs) {
  await sql`insert into learning_contexts (tenant, language, framework, runs)
    select 'tenant' || (i % 97), 'lang' || (i / 97), 'fw' || i, ${Math.ceil(runs / contexts)}
    from generate_series(0, ${contexts - 1}) i`.execute(db);
  await sql`insert into learning_arms (tenant, language, framework, hash, source, slot, successes, failures,
      feedback_positive, feedback_negative, duration_weight, duration_sum, runs_total, successes_total, failure_streak,
      last_run_slot, last_duration_s, stages_count)
    select c.tenant, c.language, c.framework, md5(c.framework || a::text) || md5(c.framework || a::text), 'template',
      c.runs, (c.runs / 3.0) * (0.9 - a * 0.3), (c.runs / 3.0) * (0.1 + a * 0.3), 0, 0, 1, 100, c.runs / 3,
      ((c.runs / 3) * (0.9 - a * 0.3))::int, 0, c.runs, 100, 3
    from learning_contexts c cross join generate_series(0, 2) a`.execute(db);
  await sql`insert into learning_runs (pipeline_id, tenant, language, framework, project_path, config_hash, slot, success,
      duration_s, stages_count, at, attribution)
    select r, c.tenant, c.language, c.framework, c.tenant || '/app', md5(c.framework || (r % 3)::text) || md5(c.framework || (r % 3)::text),
      r / ${contexts}, (r % 3 = 0 and r % 10 <> 0) or (r % 3 = 1 and r % 2 = 0) or (r % 3 = 2 and r % 7 = 0),
      60 + r % 120, 3, now() - make_interval(mins => (r::float8 * 86400 / ${runs})::int),
      (array['works', 'broken', 'weak', 'flaky', 'partial'])[1 + r % 5]
    from generate_series(1, ${runs}) r
    join (select tenant, language, framework, row_number() over (order by framework) - 1 as n from learning_contexts) c
      on c.n = r % ${contexts}`.execute(db);
  await sql`analyze`.execute(db);
}

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function scrapeBench() {
  const out = [];
  for (const [label, env] of [
    ['cap 50 (default), every scrape reads the database', { PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S: '0' }],
    [
      'cap 1000, every scrape reads the database',
      { PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S: '0', PIPELINE_LEARNER_METRICS_MAX_CONTEXTS: '1000' },
    ],
    [
      'cap 1000, default max age 15 s (figures kept, refreshed in the background)',
      { PIPELINE_LEARNER_METRICS_MAX_CONTEXTS: '1000' },
    ],
  ]) {
    const store = await openPGlite('memory://');
    await migrateToLatest(store.db);
    await seed(store.db, 1000, 10_000);
    const s = await service(store, env);
    const once = async () => {
      const res = await s.app.request('/metrics', { headers: auth });
      if (res.status !== 200) throw new Error(`/metrics ${res.status}`);
      await res.text();
    };
    await once();
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(await timed(once));
    out.push({ label, median: median(times), max: Math.max(...times) });
    await s.stop();
  }
  return out;
}

async function pagesBench() {
  const out = [];
  let seededMs = 0;
  for (const [mode, env] of [
    ['every request reads the store', { PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S: '0' }],
    ['default max age 15 s (stack list kept, refreshed in the background)', {}],
  ]) {
    const store = await openPGlite('memory://');
    await migrateToLatest(store.db);
    const t = performance.now();
    await seed(store.db, 200, 100_000);
    seededMs = performance.now() - t;
    const s = await service(store, env);
    for (const [label, path] of [
      ['index (200 stacks)', '/dashboard'],
      ['stack page (500 runs, 3 arms)', '/dashboard/stack/tenant0/lang0/fw0'],
      ['service page', '/dashboard/service'],
    ]) {
      const once = async () => {
        const res = await s.app.request(path, { headers: auth });
        if (res.status !== 200) throw new Error(`${path} ${res.status}`);
        await res.text();
      };
      const first = await timed(once);
      const times = [];
      for (let i = 0; i < RUNS; i++) times.push(await timed(once));
      out.push({ label: `${label}, ${mode}`, first, median: median(times), max: Math.max(...times) });
    }
    await s.stop();
  }
  return { seededMs, pages: out };
}

/** One measurement in a fresh process (no earlier service's timers or garbage in the figure). */
async function overheadOnce(mode) {
  const store = await openPGlite('memory://');
  await migrateToLatest(store.db);
  const s = await service(store, {}, mode === 'off' ? { metrics: false } : {});
  const send = async () => {
    const res = await s.app.request('/webhooks/gitlab', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': SECRET,
        'x-gitlab-event-uuid': randomUUID(),
      },
      body: payload,
    });
    if (res.status !== 202) throw new Error(`webhook ${res.status}`);
  };
  for (let i = 0; i < 50; i++) await send();
  const cpu = process.cpuUsage();
  // 8 in flight, as GitLab's parallel deliveries would be
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < DELIVERIES) await send();
    }),
  );
  const used = process.cpuUsage(cpu);
  await s.stop();
  return (used.user + used.system) / 1000 / DELIVERIES;
}

async function overheadBench() {
  const perDelivery = { on: [], off: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const mode of run % 2 ? ['off', 'on'] : ['on', 'off']) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--overhead', mode], {
        env: { ...process.env, BENCH_DELIVERIES: String(DELIVERIES) },
        encoding: 'utf8',
      });
      const m = /^overhead-ms (\S+)$/m.exec(child.stdout);
      if (child.status !== 0 || !m) throw new Error(`overhead child failed: ${child.stderr}`);
      perDelivery[mode].push(Number(m[1]));
    }
  }
  return { on: median(perDelivery.on), off: median(perDelivery.off), runs: perDelivery };
}

if (process.argv[2] === '--overhead') {
  console.log(`overhead-ms ${await overheadOnce(process.argv[3])}`);
  process.exit(0);
}

const ONLY = new Set((process.env.BENCH_ONLY ?? 'scrape,pages,overhead').split(',').map((x) => x.trim()));
console.log(`bench:observability — embedded store (PGlite), ${RUNS} runs per figure, node ${process.version}`);
if (ONLY.has('scrape')) {
  const scrape = await scrapeBench();
  console.log('\nGET /metrics, 1,000 learning contexts (10,000 runs)');
  for (const r of scrape) console.log(`  ${r.label}: median ${ms(r.median)} (max ${ms(r.max)})`);
}
if (ONLY.has('pages')) {
  const pages = await pagesBench();
  console.log(`\nDashboard server time, 100,000 runs in 200 stacks (seeded in ${ms(pages.seededMs)})`);
  for (const r of pages.pages)
    console.log(`  ${r.label}: first ${ms(r.first)}, then median ${ms(r.median)} (max ${ms(r.max)})`);
}
if (ONLY.has('overhead')) {
  const o = await overheadBench();
  console.log(
    `\nCPU per webhook delivery (${DELIVERIES} deliveries a run, each in a fresh process; median of ${RUNS})`,
  );
  console.log(
    `  metrics on: ${o.on.toFixed(3)} ms, off: ${o.off.toFixed(3)} ms, overhead ${(((o.on - o.off) / o.off) * 100).toFixed(1)} %`,
  );
  const list = (xs) => xs.map((x) => x.toFixed(3)).join(' ');
  console.log(`  each run, on: ${list(o.runs.on)}; off: ${list(o.runs.off)}`);
}
process.exit(0);
