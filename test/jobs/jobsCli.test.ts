import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/jobs.js';
import type { CliIo } from '../../src/cli.js';
import { claimJob, enqueueJob, failJob, listJobs } from '../../src/db/jobQueue.js';
import { migrateToLatest, openPostgres } from '../../src/db/openDatabase.js';
import { createTestDatabase } from '../support/db.js';

function io(env: Record<string, string>): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env,
    cwd: '/tmp',
    readStdin: async () => '',
  };
}

describe('pipeline-learner jobs', () => {
  it('lists dead letters with their last error, retries them by id or all, purges', async (ctx) => {
    const url = await createTestDatabase();
    if (!url) return ctx.skip();
    const store = openPostgres(url);
    try {
      await migrateToLatest(store.db);
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { id } = await enqueueJob(store.db, { kind: 'pipeline_event', payload: { i }, maxAttempts: 1 });
        await claimJob(store.db, { workerId: 'w', kinds: ['pipeline_event'], leaseMs: 1000 });
        await failJob(store.db, id, 'w', { error: `GitLab answered 404 for pipeline ${i}`, delayMs: null });
        ids.push(id);
      }
      const env = { DATABASE_URL: url };
      const list = io(env);
      expect(await run(['list'], list)).toBe(0);
      const text = list.out.join('');
      expect(text).toContain('GitLab answered 404 for pipeline 2');
      expect(text).toContain('3 dead');
      expect(text).toContain('pipeline-learner jobs retry --all');

      const json = io(env);
      await run(['list', '--json'], json);
      expect(json.out.map((l) => JSON.parse(l).id)).toEqual(ids);

      const one = io(env);
      expect(await run(['retry', String(ids[0])], one)).toBe(0);
      expect((await listJobs(store.db, { status: ['queued'] })).map((j) => j.id)).toEqual([ids[0]]);
      const unknown = io(env);
      expect(await run(['retry', '999999'], unknown)).toBe(1);
      expect(unknown.err.join('')).toContain('999999');
      expect(await run(['retry', 'abc'], io(env)).catch((e) => e.exitCode)).toBe(2);

      expect(await run(['retry', '--all'], io(env))).toBe(0);
      expect((await listJobs(store.db, { status: ['dead'] })).length).toBe(0);
      await failJob(store.db, ids[1], 'nobody', { error: 'x', delayMs: null });
      const purge = io(env);
      expect(await run(['purge'], purge)).toBe(0);
      expect(purge.out.join('')).toMatch(/deleted \d+ dead job/);
    } finally {
      await store.close();
    }
  });
});
