import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderContexts, renderStack, sparkline } from '../../src/cli/report.js';
import { type CliIo, main } from '../../src/cli.js';
import { createLearningStore } from '../../src/db/learningStore.js';
import type { Store } from '../../src/db/openDatabase.js';
import type { ArmCandidate } from '../../src/learning/Chooser.js';
import { Learner } from '../../src/learning/Learner.js';
import { createRng } from '../../src/learning/Rng.js';
import { learningReports } from '../../src/metrics/learningReport.js';
import { openTestStore } from '../support/db.js';

const GOOD = 'a'.repeat(64);
const BAD = 'b'.repeat(64);
const cand = (hash: string): ArmCandidate => ({ hash, source: 'template', config: `# ${hash[0]}\n`, label: hash[0]! });
const context = { tenant: 'acme', language: 'go', framework: 'gin' };

describe('the learning report (report CLI and dashboard data)', () => {
  let store: Store | null;
  beforeAll(async () => {
    store = await openTestStore('pglite');
    const learner = new Learner({ store: createLearningStore(store!.db), rng: createRng(3) });
    await learner.choose(context, [cand(GOOD), cand(BAD)]);
    const today = Date.now();
    let id = 5000;
    // GOOD: 6 green runs over the last days; BAD: 4 red ones
    for (let i = 0; i < 10; i++) {
      const good = i % 5 !== 4 && i < 8 ? true : i >= 8 ? false : true;
      await learner.observeRun({
        ...context,
        projectPath: 'acme/app',
        pipelineId: ++id,
        configHash: good ? GOOD : BAD,
        status: good ? 'success' : 'failed',
        durationS: good ? 120 : 60,
        stagesCount: 3,
        failedJobs: good
          ? []
          : [{ name: 'test', stage: 'test', failure_reason: 'script_failure', allow_failure: false }],
        at: new Date(today - (10 - i) * 3_600_000 * 12),
      });
    }
  });
  afterAll(async () => {
    await store?.close();
  });

  it('ranks the stack, its arms with their trend, and the decisions with their probabilities', async () => {
    const learner = new Learner({ store: createLearningStore(store!.db) });
    const reports = learningReports(store!.db, learner);
    const contexts = await reports.contexts();
    expect(contexts).toHaveLength(1);
    const c = contexts[0]!;
    expect(c).toMatchObject({ tenant: 'acme', language: 'go', framework: 'gin', runs: 10, arms: 2 });
    expect(c.best?.hash).toBe(GOOD);
    expect(c.best!.low).toBeLessThan(c.best!.mean);
    expect(c.trend).toHaveLength(30);
    expect(c.trend.filter((x) => x !== null).length).toBeGreaterThan(0);
    expect(c.trend.every((x) => x === null || x === 1)).toBe(true);

    const stack = (await reports.stack({ tenant: 'ACME', language: 'go', framework: 'gin' }))!;
    expect(stack.arms.map((a) => a.hash)).toEqual([GOOD, BAD]);
    expect(stack.arms[1]!.trend.every((t) => t.successes === 0)).toBe(true);
    expect(stack.decisions).toHaveLength(1);
    const d = stack.decisions[0]!;
    expect(d.probabilities.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 6);
    expect(d.probabilities.map((p) => p.hash).sort()).toEqual([GOOD, BAD]);
    expect(await reports.stack({ tenant: 'acme', language: 'go', framework: 'echo' })).toBeNull();

    const text = renderContexts(contexts);
    expect(text).toContain('acme/go/gin');
    expect(text).toContain(GOOD.slice(0, 12));
    expect(text).toMatch(/█/);
    const detail = renderStack(stack);
    expect(detail).toContain(BAD.slice(0, 12));
    expect(detail).toMatch(/Latest decisions/);
  });

  it('sparklines map [0, 1] onto eight bars and mark days without runs', () => {
    expect(sparkline([0, 0.5, 1, null])).toBe('▁▅█·');
  });

  it('the CLI reads an empty data directory without creating a store, and checks --context', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pl-report-')), 'none');
    const out = { stdout: '', stderr: '' };
    const io: CliIo = {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { DATA_DIR: dataDir },
      cwd: tmpdir(),
      readStdin: async () => '',
    };
    expect(await main(['report'], io)).toBe(0);
    expect(out.stdout).toContain('Nothing learned yet');
    expect(await main(['report', '--context', 'acme/go'], io)).toBe(2);
    expect(out.stderr).toContain('TENANT/LANGUAGE/FRAMEWORK');
  });
});
