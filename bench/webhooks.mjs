#!/usr/bin/env node
// Webhook intake with jobs processed: `serve` on the embedded store, on PostgreSQL, and on
// PostgreSQL with `--workers 2`, beside a bare Hono endpoint that only answers 202, all in the
// same run on loopback. Parameters pinned by issue 10: 50 connections, 5 s rounds, 3 rounds,
// medians; the real pipeline_success payload with distinct pipeline ids; jobs processed against the
// fake GitLab (its own process, no rate limit). Prints figures; asserts nothing.
//   npm run bench:webhooks     (BENCH_ONLY=bare,embedded,postgres,workers; BENCH_GITLAB_RATE_LIMIT; BENCH_ROUNDS, BENCH_ROUND_S,
//                               BENCH_CONNECTIONS, BENCH_PIPELINES, BENCH_DRAIN_S; DATABASE_URL to reuse a server;
//                               PIPELINE_LEARNER_WORKER_CONCURRENCY is passed on to the service)
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFakes } from './support/fakes.mjs';
import { startEmbeddedPostgres } from './support/postgres.mjs';
import { post, startChild, startFakeGitLab, treeRssMb } from './support/procs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DRAIN_S = Number(process.env.BENCH_DRAIN_S ?? 60);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'bare,embedded,postgres,workers').split(',').map((s) => s.trim()));
const SECRET = 'bench-webhook-secret';
const API = 'bench-api-token';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

const BARE = `
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
const app = new Hono();
app.post('/webhooks/gitlab', async (c) => { await c.req.arrayBuffer(); return c.json({ status: 'accepted' }, 202); });
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (i) => console.log('listening on http://127.0.0.1:' + i.port));
`;

/** Distinct pipeline ids across rounds (they wrap after the fake's seeded count). */
function deliveries(gl) {
  let n = 0;
  const template = gl.hook.body;
  return () => {
    const id = gl.firstId + (n++ % gl.count);
    const uuid = randomUUID();
    const body = JSON.stringify({
      ...template,
      object_attributes: { ...template.object_attributes, id, iid: id - gl.firstId + 1 },
    });
    return {
      body,
      headers: {
        ...gl.hook.headers,
        'content-type': 'application/json',
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': SECRET,
        'x-gitlab-event-uuid': uuid,
        'idempotency-key': uuid,
        'webhook-id': uuid,
      },
    };
  };
}

async function round(baseUrl, next, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const url = `${baseUrl}/webhooks/gitlab`;
  const lat = [];
  let ok = 0;
  let failed = 0;
  const end = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const d = next();
        const r = await post(agent, url, d.body, d.headers);
        lat.push(r.ms);
        if (r.status === 202) ok++;
        else failed++;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { perS: ok / s, p99: lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))], ok, failed };
}

async function jobCounts(store) {
  const { sql } = await import('kysely');
  const r = await sql`select status, count(*)::int as n from jobs group by status`.execute(store.db);
  const out = { queued: 0, running: 0, done: 0, dead: 0 };
  for (const row of r.rows) out[row.status] = Number(row.n);
  return out;
}

async function openJobs(store) {
  const { sql } = await import('kysely');
  const r = await sql`select count(*)::int as n from jobs where status in ('queued', 'running')`.execute(store.db);
  return Number(r.rows[0].n);
}

/**
 * Jobs this service process has finished (its own counter on /metrics, exact and immediate): the embedded
 * store is held by the service, so the drain is read from it instead of from the database.
 */
async function jobsFinished(url) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${API}` } });
  let n = 0;
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('pipeline_learner_job_duration_seconds_count{') && !line.includes('result="retry"')) {
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return n;
}

async function main() {
  const { openDatabase } = await import(pathToFileURL(join(root, 'dist/db/openDatabase.js')).href);
  const fakesDir = buildFakes(root);
  const gl = await startFakeGitLab(fakesDir);
  const rows = [];
  const next = deliveries(gl);

  if (ONLY.has('bare')) {
    const bare = startChild(['--input-type=module', '-e', BARE], {});
    const url = await bare.url;
    await round(url, next, 1);
    const rs = [];
    for (let i = 0; i < ROUNDS; i++) rs.push(await round(url, next, ROUND_S));
    rows.push({ name: 'bare Hono 202', perS: median(rs.map((r) => r.perS)), p99: median(rs.map((r) => r.p99)) });
    bare.child.kill('SIGTERM');
    await bare.exited;
  }

  const targets = [];
  if (ONLY.has('embedded')) targets.push({ name: 'embedded (PGlite)', kind: 'embedded', args: [] });
  let pg = null;
  if (ONLY.has('postgres') || ONLY.has('workers')) {
    try {
      pg = process.env.DATABASE_URL ? null : await startEmbeddedPostgres();
      if (ONLY.has('postgres')) targets.push({ name: 'PostgreSQL', kind: 'postgres', args: [] });
      if (ONLY.has('workers'))
        targets.push({ name: 'PostgreSQL --workers 2', kind: 'postgres', args: ['--workers', '2'] });
    } catch (err) {
      console.error(`PostgreSQL unavailable, skipping it: ${err.message}`);
    }
  }

  for (const t of targets) {
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-bench-'));
    const databaseUrl = t.kind === 'postgres' ? (process.env.DATABASE_URL ?? (await pg.fresh())) : null;
    const env = {
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      DATA_DIR: dataDir,
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
      ...(process.env.PIPELINE_LEARNER_WORKER_CONCURRENCY
        ? { PIPELINE_LEARNER_WORKER_CONCURRENCY: process.env.PIPELINE_LEARNER_WORKER_CONCURRENCY }
        : {}),
    };
    if (!databaseUrl) {
      // initdb leaves PGlite's heap large; an operator's first start does it once
      const first = startChild([join(root, 'dist/cli.js'), 'migrate'], env);
      first.url.catch(() => {});
      await first.exited;
    }
    const s = startChild([join(root, 'dist/cli.js'), 'serve', ...t.args], env);
    const url = await s.url;
    await sleep(2000);
    const idle = treeRssMb(s.child.pid);
    await round(url, next, 1); // warm-up, not counted
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRssMb(s.child.pid));
    }, 500);
    const rs = [];
    const loadStart = Date.now();
    for (let i = 0; i < ROUNDS; i++) rs.push(await round(url, next, ROUND_S));
    const loadS = (Date.now() - loadStart) / 1000;
    clearInterval(sampler);
    // the drain: jobs done while loading, and the rate at which the rest goes once intake stops
    const store = await (databaseUrl ? openDatabase({ databaseUrl, dataDir }) : Promise.resolve(null));
    let drain = null;
    if (store) {
      const atEnd = await jobCounts(store);
      const t0 = Date.now();
      // polled: the open jobs only (their partial indexes), not a count over every finished job
      let open = atEnd.queued + atEnd.running;
      while (open > 0 && Date.now() - t0 < DRAIN_S * 1000) {
        await sleep(500);
        open = await openJobs(store);
      }
      const s2 = (Date.now() - t0) / 1000;
      const c = await jobCounts(store);
      drain = {
        duringLoad: atEnd.done / loadS,
        after: (c.done - atEnd.done) / s2,
        left: c.queued + c.running,
        dead: c.dead,
        total: c.done + c.dead + c.queued + c.running,
      };
      await store.close();
    }
    let after = Number.NaN;
    let finishedAtEnd = 0;
    if (!store) {
      // the embedded store: the service's own count of finished jobs, until it stops rising
      const atEnd = await jobsFinished(url);
      finishedAtEnd = atEnd;
      const t0 = Date.now();
      let last = atEnd;
      let lastAt = t0;
      while (Date.now() - t0 < DRAIN_S * 1000 && Date.now() - lastAt < 4000) {
        await sleep(2000);
        const n = await jobsFinished(url);
        if (n > last) [last, lastAt] = [n, Date.now()];
      }
      after = lastAt > t0 ? (last - atEnd) / ((lastAt - t0) / 1000) : 0;
    }
    s.child.kill('SIGTERM');
    await s.exited;
    if (!store) {
      // the embedded store is one process's: count after the service released it
      const st = await openDatabase({ databaseUrl: null, dataDir });
      const c = await jobCounts(st);
      await st.close();
      drain = {
        duringLoad: finishedAtEnd / loadS,
        after,
        left: c.queued + c.running,
        dead: c.dead,
        total: c.done + c.dead + c.queued + c.running,
      };
    }
    rows.push({
      name: t.name,
      perS: median(rs.map((r) => r.perS)),
      p99: median(rs.map((r) => r.p99)),
      failed: rs.reduce((n, r) => n + r.failed, 0),
      idle,
      peak,
      drain,
    });
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (pg) await pg.stop();
  gl.child.kill('SIGTERM');

  const bareRate = rows.find((r) => r.name === 'bare Hono 202')?.perS ?? Number.NaN;
  console.log(
    `\nwebhook intake with jobs processed: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${ROUND_S} s (medians), real pipeline_success payloads, distinct pipeline ids (wrapping after ${gl.count}), fake GitLab without a rate limit\n`,
  );
  console.log(
    'target                   req/s  ×bare  p99 ms  not 202  RSS idle/peak MB  jobs/s load  jobs/s after  left  dead  jobs',
  );
  for (const r of rows) {
    const d = r.drain;
    console.log(
      [
        r.name.padEnd(22),
        r.perS.toFixed(0).padStart(7),
        (r.perS / bareRate).toFixed(2).padStart(5),
        r.p99.toFixed(1).padStart(7),
        String(r.failed ?? '-').padStart(7),
        `${r.idle ?? '-'}/${r.peak ?? '-'}`.padStart(16),
        d ? d.duringLoad.toFixed(1).padStart(11) : '          -',
        d ? (Number.isNaN(d.after) ? 'n/a' : d.after.toFixed(1)).padStart(12) : '           -',
        d ? String(d.left).padStart(4) : '   -',
        d ? String(d.dead).padStart(4) : '   -',
        d ? String(d.total).padStart(5) : '    -',
      ].join('  '),
    );
  }
  console.log(
    `\naims (issue 10): ≥ 0.25× bare throughput with p99 < 25 ms on both stores; drain ≥ 200 jobs/s embedded, ≥ 500 jobs/s PostgreSQL with two worker processes.\n"jobs/s after": the drain once intake stops (waits up to ${DRAIN_S} s; on the embedded store, which one process holds, counted by the service's own /metrics); RSS summed over the service and its children.`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
