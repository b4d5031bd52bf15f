import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimJobs, completeJobs, enqueueJob, listJobs } from '../../src/db/jobQueue.js';
import type { Store } from '../../src/db/openDatabase.js';
import {
  insertConfiguration,
  recountConfigSuccess,
  successfulConfigurations,
  upsertProject,
  upsertRun,
} from '../../src/db/runs.js';
import { withIntakePriority } from '../../src/db/SerialPGliteDialect.js';
import type { RunJob } from '../../src/db/tables/core.js';
import { openTestStore, storeKinds } from '../support/db.js';

const HASHES = ['h-a', 'h-b', 'h-c'];

function configurationInput(hash: string, content = `# ${hash}\n`) {
  return {
    hash,
    content,
    dockerfile: null,
    validYaml: true,
    yamlError: null,
    language: 'go',
    framework: 'generic',
    projectPath: 'acme/app',
  };
}

type RunOptions = { hash: string; status: string; tenant?: string; lang?: string; jobs?: RunJob[] };

function runInput(pipelineId: number, o: RunOptions) {
  return {
    pipelineId,
    iid: pipelineId,
    projectId: 1,
    projectPath: `${o.tenant ?? 'acme'}/app`,
    tenant: o.tenant ?? 'acme',
    sha: 'a'.repeat(40),
    ref: 'main',
    source: 'push',
    status: o.status,
    durationS: pipelineId,
    queuedDurationS: 1,
    jobs: o.jobs ?? [],
    failedJobs: [],
    stagesCount: 2,
    configHash: o.hash,
    configPath: '.gitlab-ci.yml',
    language: o.lang ?? 'go',
    framework: 'generic',
    finishedAt: new Date(),
  };
}

async function run(store: Store, pipelineId: number, o: RunOptions) {
  return upsertRun(store.db, runInput(pipelineId, o));
}

async function aggregate(store: Store) {
  const rows = await store.db.selectFrom('config_success').selectAll().execute();
  return rows
    .map((r) => ({
      key: `${r.config_hash}|${r.tenant}|${r.language}|${r.framework}`,
      runs: Number(r.runs),
      successes: Number(r.successes),
      successId: r.success_id === null ? null : Number(r.success_id),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

const recount = async (store: Store) =>
  (await recountConfigSuccess(store.db)).sort((a, b) => a.key.localeCompare(b.key));

describe.each(storeKinds)('scale storage on %s', (kind) => {
  let store: Store | null = null;
  beforeAll(async () => {
    store = await openTestStore(kind);
    if (!store) return;
    for (const hash of HASHES) await insertConfiguration(store.db, configurationInput(hash));
  });
  afterAll(async () => {
    await store?.close();
  });
  beforeEach(async (ctx) => {
    if (!store) return ctx.skip();
    await store.db.deleteFrom('jobs').execute();
    await store.db.deleteFrom('pipeline_runs').execute();
  });

  it('an upsert says what the row it replaced had as status, and whether a proposal is its commit, in one statement', async (t) => {
    if (!store) return t.skip();
    const id = 990_001;
    expect(await run(store, id, { hash: 'h-a', status: 'success' })).toEqual({
      previousStatus: null,
      proposalCommit: false,
    });
    expect(await run(store, id, { hash: 'h-a', status: 'failed' })).toMatchObject({ previousStatus: 'success' });
    expect(await run(store, id, { hash: 'h-a', status: 'failed' })).toMatchObject({ previousStatus: 'failed' });
    // a proposal of ours on this commit: the same statement says so (its outcome note is then due)
    const conversation = await sql<{ id: number }>`
      insert into conversations (project_id, project_path, mr_iid) values (1, 'acme/app', 5) returning id`.execute(
      store.db,
    );
    await sql`
      insert into proposals (conversation_id, project_id, mr_iid, number, status, language, framework, source, config, hash, branch, commit_sha)
      values (${conversation.rows[0]!.id}, 1, 5, 1, 'committed', 'go', 'generic', 'default', 'x', 'h-a', 'feature', ${'a'.repeat(40)})`.execute(
      store.db,
    );
    expect(await run(store, id, { hash: 'h-a', status: 'failed' })).toEqual({
      previousStatus: 'failed',
      proposalCommit: true,
    });
    await sql`delete from conversations`.execute(store.db);
    const row = await store.db
      .selectFrom('pipeline_runs')
      .select('status')
      .where('pipeline_id', '=', id)
      .executeTakeFirst();
    expect(row?.status).toBe('failed');
    await store.db.deleteFrom('pipeline_runs').where('pipeline_id', '=', id).execute();
  });

  it('the trigger-kept config_success equals a recount through inserts, retries, key changes and deletes', async () => {
    const s = store!;
    // a seeded random sequence of operations; after each step the aggregate must equal a recount
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const statuses = ['success', 'failed', 'canceled'];
    for (let step = 0; step < 120; step++) {
      const id = 1 + rnd(30);
      if (rnd(10) === 0) await s.db.deleteFrom('pipeline_runs').where('pipeline_id', '=', id).execute();
      else
        await run(s, id, {
          hash: HASHES[rnd(3)]!,
          status: statuses[rnd(3)]!,
          tenant: rnd(4) === 0 ? 'other' : 'acme',
          lang: rnd(5) === 0 ? 'rust' : 'go',
        });
      if (step % 10 === 9) expect(await aggregate(s)).toEqual(await recount(s));
    }
    expect(await aggregate(s)).toEqual(await recount(s));
    expect((await aggregate(s)).length).toBeGreaterThan(1);
  });

  it('successfulConfigurations reads the latest success per configuration, its count, filters and pages', async () => {
    const s = store!;
    await run(s, 10, { hash: 'h-a', status: 'success' });
    await run(s, 11, { hash: 'h-a', status: 'success' });
    await run(s, 12, { hash: 'h-a', status: 'failed' });
    await run(s, 13, { hash: 'h-b', status: 'success' });
    await run(s, 14, { hash: 'h-c', status: 'failed' });
    await run(s, 15, { hash: 'h-c', status: 'success', tenant: 'other' });
    const all = await successfulConfigurations(s.db, {});
    expect(all.map((r) => [r.hash, r.tenant, r.pipelineId, r.runCount])).toEqual([
      ['h-c', 'other', 15, 1],
      ['h-b', 'acme', 13, 1],
      ['h-a', 'acme', 11, 2],
    ]);
    expect(all[2]).toMatchObject({ content: '# h-a\n', durationS: 11, stagesCount: 2, projectPath: 'acme/app' });
    expect((await successfulConfigurations(s.db, { tenant: 'acme' })).map((r) => r.hash)).toEqual(['h-b', 'h-a']);
    expect((await successfulConfigurations(s.db, { limit: 1, offset: 1 })).map((r) => r.hash)).toEqual(['h-b']);
    // the latest success retried into failure: the previous success takes its place
    await run(s, 11, { hash: 'h-a', status: 'failed' });
    const a = (await successfulConfigurations(s.db, { configHash: 'h-a' }))[0]!;
    expect([a.pipelineId, a.runCount]).toEqual([10, 1]);
    await run(s, 10, { hash: 'h-a', status: 'failed' });
    expect(await successfulConfigurations(s.db, { configHash: 'h-a' })).toEqual([]);
  });

  it("withJobs brings the latest success's jobs in the same read, and only when asked", async () => {
    const s = store!;
    const job = (name: string, status: string): RunJob => ({
      id: null,
      name,
      stage: 'test',
      status,
      failure_reason: null,
      allow_failure: false,
      when: 'on_success',
    });
    await run(s, 20, { hash: 'h-b', status: 'success', jobs: [job('unit', 'success')] });
    await run(s, 21, { hash: 'h-b', status: 'success', jobs: [job('unit', 'success'), job('lint', 'success')] });
    await run(s, 22, { hash: 'h-b', status: 'failed', jobs: [job('unit', 'failed')] });
    const [b] = await successfulConfigurations(s.db, { configHash: 'h-b', withJobs: true });
    expect(b?.pipelineId).toBe(21);
    expect(b?.jobs?.map((j) => j.name)).toEqual(['unit', 'lint']);
    expect((await successfulConfigurations(s.db, { configHash: 'h-b' }))[0]).not.toHaveProperty('jobs');
  });

  it('a run is written with its project and a new configuration in one statement, the reference checked', async () => {
    const s = store!;
    const runOf = (hash: string) => runInput(770_001, { hash, status: 'success' });
    // without its configuration the reference refuses the run: the combined write below is not vacuous
    await expect(upsertRun(s.db, runOf('h-new'))).rejects.toThrow();
    const configuration = configurationInput('h-new', 'test:\n  script: [go test ./...]\n');
    const project = { projectId: 1, pathWithNamespace: 'acme/app', tenant: 'acme', ciConfigPath: null };
    expect(await upsertRun(s.db, runOf('h-new'), { project, configuration })).toMatchObject({ previousStatus: null });
    const stored = await s.db.selectFrom('configurations').selectAll().where('hash', '=', 'h-new').executeTakeFirst();
    expect(stored?.content).toBe(configuration.content);
    const p = await s.db.selectFrom('projects').selectAll().where('project_id', '=', 1).executeTakeFirst();
    expect(p?.path_with_namespace).toBe('acme/app');
    // again (a retry): the configuration's first write wins, the run reports what it replaced
    expect(
      await upsertRun(
        s.db,
        { ...runOf('h-new'), status: 'failed' },
        { project, configuration: { ...configuration, content: '# other\n' } },
      ),
    ).toMatchObject({ previousStatus: 'success' });
    const again = await s.db
      .selectFrom('configurations')
      .select('content')
      .where('hash', '=', 'h-new')
      .executeTakeFirst();
    expect(again?.content).toBe(configuration.content);
    await s.db.deleteFrom('pipeline_runs').where('pipeline_id', '=', 770_001).execute();
    await s.db.deleteFrom('configurations').where('hash', '=', 'h-new').execute();
    await s.db.deleteFrom('projects').where('project_id', '=', 1).execute();
  });

  it('a project unchanged and seen within the minute is not written again; a change or an older row is', async () => {
    const s = store!;
    const project = { projectId: 4242, pathWithNamespace: 'acme/busy', tenant: 'acme', ciConfigPath: null };
    const version = async () =>
      (
        await sql<{ v: string; path: string; cfg: string | null; at: Date }>`
          select xmin::text as v, path_with_namespace as path, ci_config_path as cfg, last_event_at as at
            from projects where project_id = 4242`.execute(s.db)
      ).rows[0]!;
    await upsertProject(s.db, project);
    const first = await version();
    await upsertProject(s.db, project);
    expect((await version()).v).toBe(first.v);
    await upsertProject(s.db, { ...project, ciConfigPath: 'ci/main.yml' });
    const changed = await version();
    expect(changed.v).not.toBe(first.v);
    expect(changed.cfg).toBe('ci/main.yml');
    // seen more than a minute ago: touched again, so the reconciler's recency order stays right
    await sql`update projects set last_event_at = now() - interval '2 minutes' where project_id = 4242`.execute(s.db);
    const stale = await version();
    await upsertProject(s.db, { ...project, ciConfigPath: 'ci/main.yml' });
    const touched = await version();
    expect(touched.v).not.toBe(stale.v);
    expect(touched.at.getTime()).toBeGreaterThan(stale.at.getTime());
    await s.db.deleteFrom('projects').where('project_id', '=', 4242).execute();
  });

  it('claims a batch of due jobs in one statement, never the same job twice, and completes them in one', async () => {
    const s = store!;
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push((await enqueueJob(s.db, { kind: 'k', payload: { i }, maxAttempts: 3 })).id);
    await enqueueJob(s.db, { kind: 'other', payload: {}, maxAttempts: 3 });
    const first = await claimJobs(s.db, { workerId: 'w1', kinds: ['k'], leaseMs: 60_000, limit: 5 });
    const second = await claimJobs(s.db, { workerId: 'w2', kinds: ['k'], leaseMs: 60_000, limit: 5 });
    expect(first.map((j) => j.id)).toEqual(ids.slice(0, 5));
    expect(second.map((j) => j.id)).toEqual(ids.slice(5));
    expect(first[0]).toMatchObject({ kind: 'k', payload: { i: 0 }, attempts: 1, maxAttempts: 3 });
    expect(await claimJobs(s.db, { workerId: 'w3', kinds: ['k'], leaseMs: 60_000, limit: 5 })).toEqual([]);
    // w2 cannot complete w1's jobs; w1 completes its own in one statement
    expect(await completeJobs(s.db, [ids[0]!, ids[5]!], 'w1')).toEqual(new Set([ids[0]]));
    expect(
      await completeJobs(
        s.db,
        first.map((j) => j.id),
        'w1',
      ),
    ).toEqual(new Set(ids.slice(1, 5)));
    const jobs = await listJobs(s.db);
    expect(jobs.filter((j) => j.status === 'done').map((j) => j.id)).toEqual(ids.slice(0, 5));
    expect(jobs.filter((j) => j.status === 'running').map((j) => j.id)).toEqual(ids.slice(5));
  });

  it('a claim reads about as many jobs as it claims, however long the queue, expired leases first by age', async () => {
    const s = store!;
    // history: finished jobs, which the table's statistics were last taken on (as on a service that
    // was idle until a burst came); then a backlog the statistics do not know of yet
    await sql`insert into jobs (kind, payload, status, max_attempts, run_at, finished_at)
              select 'k', '{}'::jsonb, 'done', 3, now() - interval '2 days', now() - interval '1 day'
              from generate_series(1, 20000)`.execute(s.db);
    await sql`analyze jobs`.execute(s.db);
    await sql`insert into jobs (kind, payload, status, max_attempts, run_at)
              select 'k', '{}'::jsonb, 'queued', 3, now() - interval '1 hour' + make_interval(secs => g)
              from generate_series(1, 5000) g`.execute(s.db);
    // a worker died holding the oldest job (its lease ran out); another runs one whose lease holds
    const [expired] = await sql<{ id: string }>`
      insert into jobs (kind, payload, status, max_attempts, run_at, locked_by, locked_until, attempts)
      values ('k', '{}'::jsonb, 'running', 3, now() - interval '2 hours', 'dead', now() - interval '1 minute', 1),
             ('k', '{}'::jsonb, 'running', 3, now() - interval '3 hours', 'alive', now() + interval '1 hour', 1)
      returning id`
      .execute(s.db)
      .then((r) => r.rows.map((row) => Number(row.id)));
    const options = { workerId: 'w', kinds: ['k'], leaseMs: 60_000, limit: 5 };
    const oldestQueued = await s.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .orderBy('run_at')
      .orderBy('id')
      .limit(4)
      .execute()
      .then((rows) => rows.map((r) => Number(r.id)));

    // the rows the claim's scans read from jobs (this transaction's own counters): a few per claimed
    // job, not the queue; with a plan chosen by the stale statistics it read all 5,000
    const { claimed, read } = await s.db.transaction().execute(async (tx) => {
      // the backend's counters not yet flushed to the statistics: read before and after, in one transaction
      const counter = async () => {
        const r = await sql<{ read: string }>`
          select (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text as read
          from pg_stat_xact_user_tables where relname = 'jobs'`.execute(tx);
        return Number(r.rows[0]?.read ?? 0);
      };
      const before = await counter();
      const claimed = await claimJobs(tx, options);
      return { claimed, read: (await counter()) - before };
    });
    expect(claimed).toHaveLength(options.limit);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(4 * options.limit);

    // and it claimed the expired lease (the oldest due job) and the four oldest queued jobs
    expect(claimed.map((j) => j.id)).toEqual([...oldestQueued, expired].sort((x, y) => x! - y!));
  });
});

describe('intake priority on the embedded store', () => {
  it('a waiting intake statement runs before worker statements that queued earlier', async () => {
    const store = (await openTestStore('pglite'))!;
    try {
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      // a worker transaction holds the single session
      const tx = store.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await held;
      });
      await new Promise((r) => setTimeout(r, 20));
      const workers = [1, 2, 3].map((i) => sql`select ${i}`.execute(store.db).then(() => order.push(`worker${i}`)));
      const intake = withIntakePriority(() => sql`select 0`.execute(store.db)).then(() => order.push('intake'));
      release();
      await Promise.all([tx, intake, ...workers]);
      expect(order).toEqual(['intake', 'worker1', 'worker2', 'worker3']);
    } finally {
      await store.close();
    }
  });
});
