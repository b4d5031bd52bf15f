import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../src/cli.js';
import { createLearningStore } from '../../src/db/learningStore.js';
import { migrateToLatest, openDatabase } from '../../src/db/openDatabase.js';
import { Learner } from '../../src/learning/Learner.js';
import { createRng } from '../../src/learning/Rng.js';

const dir = mkdtempSync(join(tmpdir(), 'pl-learner-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], stdin = '') {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: { DATA_DIR: join(dir, 'data'), HOME: dir },
    cwd: process.cwd(),
    readStdin: async () => stdin,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('pipeline-learner simulate', () => {
  it('prints the documented JSON shape', async () => {
    const scenario = {
      seed: 3,
      rounds: 300,
      contexts: [
        {
          language: 'go',
          framework: 'generic',
          weight: 1,
          arms: [
            { id: 'a', source: 'default', p_success: 0.7, duration_s: 300 },
            { id: 'b', source: 'template', p_success: 0.9, duration_s: 300, breaks_at: 100, p_after: 0.1 },
          ],
        },
      ],
    };
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify(scenario));
    const r = await cli(['simulate', '--scenario', file, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    for (const p of ['thompson', 'greedy', 'epsilon_greedy', 'ucb1']) {
      expect(j.policies[p]).toEqual({
        regret: expect.any(Number),
        success_rate: expect.any(Number),
        recovery_runs: expect.any(Number),
        runs_to_best: expect.any(Number),
      });
    }
    expect(j.reward).toBe('v2');
    expect(j.outcomes).toMatchObject({ works: expect.any(Number), broken: expect.any(Number) });
    expect(j.oracle_success_rate).toBeCloseTo((100 * 0.9 + 200 * 0.7) / 300, 3);
    const text = await cli(['simulate', '--scenario', '-'], JSON.stringify(scenario));
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/thompson\s+\d/);
  });
  it('reports the shipped attribution scenarios: each class of evidence shows up where the scenario puts it', async () => {
    const expected: Record<string, string> = {
      'code-failures': 'works',
      'runner-outages': 'no_evidence',
      'no-tests': 'weak',
      flaky: 'flaky',
      wide: 'works',
    };
    for (const [name, cls] of Object.entries(expected)) {
      const shipped = JSON.parse(
        readFileSync(new URL(`../../bench/scenarios/${name}.json`, import.meta.url), 'utf8'),
      ) as Record<string, unknown>;
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ ...shipped, rounds: 300, repetitions: 1 }));
      const r = await cli(['simulate', '--scenario', file, '--json']);
      expect(r.code, name).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.rounds).toBe(300);
      expect(Object.keys(j.policies).sort()).toEqual(['epsilon_greedy', 'greedy', 'thompson', 'ucb1']);
      expect(j.policies.thompson.runs_to_best).toBeGreaterThanOrEqual(0);
      expect(j.outcomes[cls], `${name}: ${cls}`).toBeGreaterThan(0);
      const shares = Object.values(j.outcomes as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(shares).toBeCloseTo(1, 2);
    }
    // --reward v1: the same scenario seen as green/red only, for comparison
    const v1 = await cli(['simulate', '--scenario', join(dir, 'no-tests.json'), '--json', '--reward', 'v1']);
    expect(JSON.parse(v1.out).reward).toBe('v1');
  });
  it('exits 2 on bad input', async () => {
    expect((await cli(['simulate'])).code).toBe(2);
    expect((await cli(['simulate', '--scenario', join(dir, 'missing.json')])).code).toBe(2);
    const bad = await cli(['simulate', '--scenario', '-'], '{"rounds": 5, "contexts": []}');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/contexts/);
  });
});

describe('pipeline-learner learner / decisions / evaluate on the embedded store', () => {
  it('bans, lists, unbans; exports and evaluates an empty log', async () => {
    const hash = 'abcdef012345';
    expect(await cli(['learner', 'ban', hash, '--reason', 'leaks secrets'])).toMatchObject({ code: 0 });
    const bans = await cli(['learner', 'bans']);
    expect(bans.out).toContain(hash);
    expect(bans.out).toContain('leaks secrets');
    expect((await cli(['learner', 'unban', hash])).code).toBe(0);
    expect((await cli(['learner', 'unban', hash])).code).toBe(1);
    expect((await cli(['learner', 'ban', 'xyz'])).code).toBe(2);
    expect((await cli(['learner', 'forget'])).code).toBe(2);
    expect(await cli(['learner', 'forget', '--tenant', 'acme'])).toMatchObject({
      code: 0,
      out: expect.stringContaining('forgot tenant acme: 0 learner run(s), 0 recorded pipeline run(s)'),
    });
    expect(await cli(['decisions', 'export'])).toMatchObject({ code: 0, out: '' });
    expect((await cli(['evaluate', '--policy', 'nope'])).code).toBe(2);
    expect(await cli(['evaluate', '--policy', 'greedy'])).toMatchObject({
      code: 0,
      out: expect.stringContaining('no rewarded'),
    });
  });
});

describe('decisions export → evaluate --input', () => {
  it('exports logged decisions with rewards as JSON lines that evaluate reads back', async () => {
    const dataDir = join(dir, 'data2');
    const store = await openDatabase({ databaseUrl: null, dataDir });
    try {
      await migrateToLatest(store.db);
      const l = new Learner({ store: createLearningStore(store.db), rng: createRng(11) });
      const ctx = { tenant: 'acme', language: 'go', framework: 'generic' };
      const cands = ['a', 'b'].map((c) => ({ hash: c.repeat(64), source: 'template' as const, config: c, label: c }));
      for (let i = 0; i < 12; i++) {
        const choice = await l.choose(ctx, cands);
        await l.attachReward(choice.decisionId!, 500 + i);
        await l.observeRun({
          ...ctx,
          projectPath: 'acme/app',
          pipelineId: 500 + i,
          configHash: choice.arm.hash,
          status: choice.arm.hash.startsWith('a') ? 'success' : 'failed',
          durationS: 120,
          stagesCount: 3,
          failedJobs: [],
          at: new Date(),
        });
      }
    } finally {
      await store.close();
    }
    let out = '';
    const io: CliIo = {
      stdout: (t) => {
        out += t;
      },
      stderr: () => {},
      env: { DATA_DIR: dataDir, HOME: dir },
      cwd: dir,
      readStdin: async () => '',
    };
    expect(await main(['decisions', 'export', '--tenant', 'acme'], io)).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(12);
    const first = JSON.parse(lines[0]);
    expect(first).toMatchObject({ format: 'pipeline-learner.decision/1', reward_formula: 'v1', policy: 'thompson' });
    expect(
      first.arms.map((a: { probability: number }) => a.probability).reduce((x: number, y: number) => x + y),
    ).toBeCloseTo(1, 9);
    writeFileSync(join(dir, 'log.jsonl'), out);
    const r = await cli(['evaluate', '--policy', 'greedy', '--input', join(dir, 'log.jsonl'), '--json']);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.out);
    expect(e).toMatchObject({ policy: 'greedy', decisions: 12 });
    expect(e.snips.value).toBeGreaterThanOrEqual(e.snips.low);
    // Twelve decisions are worth fewer than 30: the estimate comes with a warning on stderr, in both modes
    expect(e.effectiveSampleSize).toBeLessThan(30);
    expect(r.err).toMatch(
      /^warning: the logged propensities are too small for a reliable estimate: 12 decisions are worth/,
    );
    const text = await cli(['evaluate', '--policy', 'thompson', '--input', join(dir, 'log.jsonl')]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/effective sample size\s+\d/);
    expect(text.err).toMatch(/warning: .*effective sample size; want at least 30/);
    const bad = await cli(['evaluate', '--policy', 'greedy', '--input', '-'], '{"nope":1}\n');
    expect(bad.code).toBe(2);
  });
});
