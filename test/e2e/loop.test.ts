/**
 * End to end through the real composition root (src/main.ts `startOnStore`): the fake GitLab as the
 * only stand-in, every input over HTTP (webhooks signed with X-Gitlab-Token, the REST API with the API
 * token), and the worker's jobs awaited through the jobs table. One service per store kind; each
 * scenario has its own project (and tenant, so the learner's evidence does not mix between scenarios).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createLearningStore } from '../../src/db/learningStore.js';
import type { Store } from '../../src/db/openDatabase.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { decisionToJsonLine } from '../../src/learning/DecisionRecord.js';
import { Learner } from '../../src/learning/Learner.js';
import { REWARD_FORMULA_V2 } from '../../src/learning/reward.js';
import { createLogger } from '../../src/log.js';
import { type Service, startOnStore } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeGitLab, type FakeProject, type FakeUser, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { type Delivery, noteHook, pipelineHook } from '../fakes/gitlabHooks.js';
import { NODE_EXPRESS_FILES } from '../fakes/repositories.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { serviceConfig } from '../support/serviceConfig.js';

const WEBHOOK_SECRET = 'e2e-webhook-secret-value';
const API_TOKEN = 'e2e-api-token-value';
const SETTLE_TIMEOUT_MS = 45_000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const GO_PREVIOUS_CI = 'build:\n  image: golang:1.22\n  script:\n    - go build ./...\n';
const GO_FILES = {
  'go.mod': 'module example.com/globex/svc\n\ngo 1.22\n',
  'go.sum': '',
  'main.go': 'package main\n\nfunc main() {}\n',
  // a test file, so the proposal has a test stage (honest tests: none without tests)
  'main_test.go': 'package main\n\nimport "testing"\n\nfunc TestMain(t *testing.T) {}\n',
  '.gitlab-ci.yml': GO_PREVIOUS_CI,
};

function e2eConfig(fake: FakeGitLab, dataDir: string): Config {
  return serviceConfig(
    fake,
    { webhookSecret: WEBHOOK_SECRET, apiToken: API_TOKEN, dataDir },
    // one success is enough proof here (the default gate of 3 runs is covered in test/learning), so the
    // learned configuration is offered on its own merit, not only as the fallback when every arm is gated
    { PIPELINE_LEARNER_GATE_MIN_RUNS: '1' },
  );
}

interface Setup {
  project: FakeProject;
  dev: FakeUser;
  mrIid: number;
  branch: string;
}

describe.each(storeKinds)('end to end through the service (%s)', (kind) => {
  let fake: FakeGitLab;
  let store: Store | null = null;
  let service: Service | null = null;
  let config: Config;
  let learner: Learner;
  let dataDir: string;

  beforeAll(async () => {
    fake = await startFakeGitLab();
    store = await openTestStore(kind);
    if (!store) return;
    dataDir = mkdtempSync(join(tmpdir(), 'pl-e2e-'));
    config = e2eConfig(fake, dataDir);
    const log = createLogger({ level: 'silent' });
    service = await startOnStore(config, store, {
      log,
      gitlab: createGitLab({ url: fake.url, token: fake.token, timeoutMs: 10_000 }),
      vectors: new EmbeddedVectorIndex(store.db),
    });
    // a reader on the same store: the decision log and the arms as `pipeline-learner decisions export` sees them
    learner = new Learner({ store: createLearningStore(store.db) });
  });

  afterAll(async () => {
    if (service) await service.stop();
    else await store?.close();
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const db = () => {
    if (!store) throw new Error('store unavailable');
    return store.db;
  };

  async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${service!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  /** A delivery as GitLab sends it: the hook builder's headers plus the webhook secret. */
  async function deliver(
    d: Delivery,
    token = WEBHOOK_SECRET,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await post('/webhooks/gitlab', d.body, { ...d.headers, 'x-gitlab-token': token });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Waits until no job is queued or running; a dead job fails the test with its error. */
  async function settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const jobs = await db().selectFrom('jobs').select(['id', 'kind', 'status', 'attempts', 'last_error']).execute();
      const dead = jobs.filter((j) => j.status === 'dead');
      if (dead.length) throw new Error(`dead jobs: ${JSON.stringify(dead)}`);
      const pending = jobs.filter((j) => j.status === 'queued' || j.status === 'running');
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`jobs still pending: ${JSON.stringify(pending)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A user writes a comment on the MR; GitLab delivers its Note Hook; the worker handles it. */
  async function comment(s: Setup, text: string, user: FakeUser = s.dev) {
    const d = noteHook(fake, s.project, s.mrIid, user.id, text);
    const res = await deliver(d);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('accepted');
    await settle();
    return d;
  }

  const botNotes = (s: Setup) => s.project.notes(s.mrIid).filter((n) => n.authorId === fake.bot.id);
  const repliesIn = (s: Setup, discussionId: string) => botNotes(s).filter((n) => n.discussionId === discussionId);

  function setupProject(path: string, files: Record<string, string>, branch = 'feature/x'): Setup {
    const project = fake.addProject({ path, files });
    const dev = fake.addUser({ username: `dev-${randomUUID().slice(0, 6)}`, name: 'Dee Veloper' });
    project.addMember(dev.id, 30);
    project.commit(branch, { 'README.md': '# work in progress\n' }, { from: 'main', message: 'feature work' });
    const mr = project.addMergeRequest({ sourceBranch: branch, authorId: dev.id });
    return { project, dev, mrIid: mr.iid, branch };
  }

  const decisionIdOf = (body: string) => {
    const m = /\*\*Decision:\*\* `([0-9a-f-]{36})`/.exec(body);
    if (!m) throw new Error(`no decision id in:\n${body}`);
    return m[1]!;
  };

  it('learns from an approved proposal: generate → approve → pipeline success → learned and offered again', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('acme/shop/api', NODE_EXPRESS_FILES);

    // 1. /pipeline generate → a proposal in the command's thread
    const gen = await comment(s, '/pipeline generate');
    const [proposal] = repliesIn(s, gen.note.discussionId);
    expect(proposal).toBeDefined();
    expect(proposal!.body).toContain('### Proposal 1: node / express');
    expect(proposal!.body).toContain('<details><summary><code>.gitlab-ci.yml</code>');
    expect(proposal!.body).toContain('```yaml');
    expect(proposal!.body).toMatch(/\*\*Source:\*\* (default|template|learned from this GitLab)\b/);
    expect(proposal!.body).toContain('express');
    expect(proposal!.body.trimEnd()).toMatch(/Next: `\/pipeline approve 1` commits it to `feature\/x`\.$/);
    const decisionId = decisionIdOf(proposal!.body);

    // the decision is in the learner's log, with a probability vector summing to 1
    const decisions = await learner.decisions({ tenant: 'acme' });
    const decision = decisions.find((d) => d.id === decisionId);
    expect(decision).toBeDefined();
    expect(decision!.context).toEqual({ tenant: 'acme', language: 'node', framework: 'express' });
    expect(decision!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(decision!.pipelineId).toBeNull();
    const exported = JSON.parse(decisionToJsonLine(decision!));
    expect(exported).toMatchObject({ format: 'pipeline-learner.decision/1', decision_id: decisionId, reward: null });
    expect(
      exported.arms.map((a: { probability: number }) => a.probability).reduce((a: number, b: number) => a + b, 0),
    ).toBeCloseTo(1, 9);
    expect(exported.arms.map((a: { hash: string }) => a.hash)).toContain(exported.chosen);

    // 2. /pipeline approve → the bot's commit on the branch
    const before = s.project.head(s.branch);
    const approve = await comment(s, '/pipeline approve');
    const head = s.project.history(s.branch)[0]!;
    expect(head.id).not.toBe(before);
    expect(head.parentIds).toEqual([before]);
    expect(head.authorName).toBe(config.bot.commitAuthorName);
    expect(head.authorEmail).toBe(config.bot.commitAuthorEmail);
    expect(head.message).toMatch(new RegExp(`^Approved-by: Dee Veloper \\(@${s.dev.username}\\)$`, 'm'));
    expect(head.message).toContain(decisionId);
    const committed = s.project.file('.gitlab-ci.yml', head.id);
    expect(committed).toBeDefined();
    expect(committed).toMatch(/^learn_record:/m);
    expect(committed).toMatch(/^\s+stage: (learn|\.post)$/m);
    expect(committed).toContain('/api/v1/pipeline/learn/record');
    expect(repliesIn(s, approve.note.discussionId).at(-1)?.body).toContain(`as [${head.id.slice(0, 8)}]`);

    // 3. the pipeline on that commit succeeds; GitLab sends the Pipeline Hook
    const { pipeline } = s.project.addPipeline({
      sha: head.id,
      ref: s.branch,
      status: 'success',
      duration: 240,
      jobs: [
        { name: 'node-test', stage: 'test', status: 'success', duration: 200 },
        { name: 'npm-audit', stage: 'scan', status: 'success', duration: 20 },
        { name: 'learn_record', stage: 'learn', status: 'success', duration: 5 },
      ],
    });
    const hook = await deliver(pipelineHook(fake, pipeline.id, { mergeRequestIid: s.mrIid }));
    expect(hook).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await settle();

    // the run is recorded with the hash of the committed file
    const run = await db()
      .selectFrom('pipeline_runs')
      .selectAll()
      .where('pipeline_id', '=', pipeline.id)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      status: 'success',
      sha: head.id,
      language: 'node',
      framework: 'express',
      tenant: 'acme',
      stages_count: 3,
    });
    const hash = sha256(committed!);
    expect(run.config_hash).toBe(hash);

    // the learner's arm has one success
    const arms = await learner.arms({ tenant: 'acme', language: 'node', framework: 'express' });
    const arm = arms.find((a) => a.hash === hash);
    expect(arm).toMatchObject({ runs: 1, successes: 1, broken: false });

    // the decision's reward is attached: the log joins to the pipeline run
    const rewarded = (await learner.decisions({ tenant: 'acme' })).find((d) => d.id === decisionId)!;
    expect(rewarded.pipelineId).toBe(pipeline.id);
    // The node configuration declares no junit report, so nothing shows a test ran: weak evidence (issue 11).
    expect(rewarded.reward).toMatchObject({ success: 1, formulaVersion: REWARD_FORMULA_V2, attribution: 'weak' });
    const line = JSON.parse(decisionToJsonLine(rewarded));
    expect(line.pipeline_id).toBe(pipeline.id);
    // reward formula v2 (src/learning/reward.ts): ½ · (1 + 0.05 · 3/10) − 0.1 · 240/3600 for 3 passed jobs in 240 s
    expect(line.reward).toMatchObject({
      success: 1,
      duration_s: 240,
      stages_count: 3,
      attribution: 'weak',
      credit: 0.5,
    });
    expect(line.reward.value).toBeCloseTo(0.5 * (1 + 0.05 * 0.3) - (0.1 * 240) / 3600, 6);
    expect(line.reward_formula).toBe(REWARD_FORMULA_V2);

    // the outcome note is in the proposal's thread
    const outcome = repliesIn(s, gen.note.discussionId).at(-1)!;
    expect(outcome.id).not.toBe(proposal!.id);
    expect(outcome.body).toContain(`pipeline #${pipeline.id}`);
    expect(outcome.body).toContain('passed');
    // the reply says what the learner recorded: green without a test report is weak evidence
    expect(outcome.body).toContain(
      `**What the learner recorded** for configuration \`${hash.slice(0, 12)}\` (decision \`${decisionId}\`): green, but no test ran — weak evidence; counted as half a run, half for and half against the configuration.`,
    );
    expect(outcome.body).toContain('`artifacts:reports:junit`');

    // GitLab delivers the same pipeline again (a redelivery, then another hook for the same final status):
    // nothing is counted twice and the outcome note is not repeated
    const notesBefore = botNotes(s).length;
    const again = pipelineHook(fake, pipeline.id, { mergeRequestIid: s.mrIid });
    expect((await deliver(again)).body.status).toBe('accepted');
    expect((await deliver(again)).body.status).toBe('duplicate');
    await settle();
    expect(botNotes(s)).toHaveLength(notesBefore);
    expect(
      (await learner.arms({ tenant: 'acme', language: 'node', framework: 'express' })).find((a) => a.hash === hash),
    ).toMatchObject({ runs: 1, successes: 1 });

    // 4. the learned configuration through the seed API
    const unauth = await fetch(`${service!.url}/api/v1/pipeline/learn/best?language=node&framework=express`);
    expect(unauth.status).toBe(401);
    const bestRes = await fetch(`${service!.url}/api/v1/pipeline/learn/best?language=node&framework=express`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(bestRes.status).toBe(200);
    const best = (await bestRes.json()) as Record<string, unknown>;
    expect(best).toMatchObject({
      success: true,
      language: 'node',
      framework: 'express',
      source: 'reinforcement_learning',
      config: committed,
      config_hash: hash.slice(0, 12),
      pipeline_id: String(pipeline.id),
      project: 'acme/shop/api',
    });
    expect(best.confidence).toMatchObject({ runs: 1, broken: false });
    const conf = best.confidence as { mean: number; low: number; high: number };
    expect(conf.low).toBeLessThanOrEqual(conf.mean);
    expect(conf.mean).toBeLessThanOrEqual(conf.high);

    // 5. a second /pipeline generate on the same MR offers the learned configuration
    const gen2 = await comment(s, '/pipeline generate');
    const proposal2 = repliesIn(s, gen2.note.discussionId)[0]!;
    expect(proposal2.body).toContain('### Proposal 2: node / express');
    const decision2 = (await learner.decisions({ tenant: 'acme' })).find((d) => d.id === decisionIdOf(proposal2.body));
    expect(decision2).toBeDefined();
    // one weak run (green, no test report): Δα = Δβ = 0.25 on the posterior (docs/learning-attribution.md)
    expect(decision2!.arms).toContainEqual(expect.objectContaining({ source: 'learned', hash, successes: 0.25 }));
    expect(proposal2.body).toContain(
      `**Source:** learned from this GitLab (learned from acme/shop/api pipeline ${pipeline.id})`,
    );
    expect(decision2!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('reports a failed pipeline with its failed job, learns the failure, and rolls back', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('globex/billing/svc', GO_FILES);

    const gen = await comment(s, '/pipeline generate');
    const proposal = repliesIn(s, gen.note.discussionId)[0]!;
    expect(proposal.body).toContain('### Proposal 1: go /');
    await comment(s, '/pipeline approve 1');
    const head = s.project.history(s.branch)[0]!;
    expect(head.message).toContain('Approved-by: Dee Veloper');
    const committed = s.project.file('.gitlab-ci.yml', head.id)!;
    expect(committed).not.toBe(GO_PREVIOUS_CI);
    const hash = sha256(committed);

    const { pipeline } = s.project.addPipeline({
      sha: head.id,
      ref: s.branch,
      status: 'failed',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'unit-tests', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
      ],
    });
    expect((await deliver(pipelineHook(fake, pipeline.id))).status).toBe(202);
    await settle();

    const outcome = repliesIn(s, gen.note.discussionId).at(-1)!;
    expect(outcome.id).not.toBe(proposal.id);
    expect(outcome.body).toContain(`pipeline #${pipeline.id}`);
    expect(outcome.body).toContain('failed');
    expect(outcome.body).toContain('**Failed jobs:**');
    expect(outcome.body).toContain('unit-tests');
    expect(outcome.body).toContain('script_failure');
    expect(outcome.body).not.toMatch(/^- .*\bbuild\b/m);
    // a red test job without a report: partial evidence, and the reply says so rather than blaming the configuration
    expect(outcome.body).toContain(
      'red: unit-tests failed without a test report — partial evidence; counted as half a run against the configuration.',
    );
    expect(outcome.body).toContain('Whether the configuration or the code is to blame is not clear');
    expect(outcome.body).toContain('If it is the configuration, `/pipeline rollback`');
    expect(outcome.body).toContain('`/pipeline generate`');
    expect(outcome.body).not.toContain('Recorded as a failure');

    const run = await db()
      .selectFrom('pipeline_runs')
      .selectAll()
      .where('pipeline_id', '=', pipeline.id)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', config_hash: hash, tenant: 'globex', language: 'go' });
    const arm = (await learner.arms({ tenant: 'globex', language: 'go', framework: run.framework })).find(
      (a) => a.hash === hash,
    );
    expect(arm).toMatchObject({ runs: 1, successes: 0 });
    const decision = (await learner.decisions({ tenant: 'globex' })).find((d) => d.id === decisionIdOf(proposal.body))!;
    expect(decision.pipelineId).toBe(pipeline.id);
    // red test job without a test report: partial evidence, no credit (issue 11)
    expect(decision.reward).toMatchObject({ success: 0, formulaVersion: REWARD_FORMULA_V2, attribution: 'partial' });
    expect(decision.reward?.credit).toBe(0);
    expect(decision.reward?.reward).toBeLessThanOrEqual(0);

    const rollback = await comment(s, '/pipeline rollback');
    const restored = s.project.history(s.branch)[0]!;
    expect(restored.parentIds).toEqual([head.id]);
    expect(restored.message).toMatch(/^ci: roll back pipeline-learner proposal 1/);
    expect(restored.authorName).toBe(config.bot.commitAuthorName);
    expect(s.project.file('.gitlab-ci.yml', restored.id)).toBe(GO_PREVIOUS_CI);
    expect(repliesIn(s, rollback.note.discussionId).at(-1)?.body).toContain('Rolled back proposal 1');
  });

  it('credits the configuration when the code’s tests fail: webhook → attribution → reward v2 → next choice', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('initech/api/svc', GO_FILES);
    const gen = await comment(s, '/pipeline generate');
    const proposal = repliesIn(s, gen.note.discussionId)[0]!;
    await comment(s, '/pipeline approve 1');
    const head = s.project.history(s.branch)[0]!;
    const hash = sha256(s.project.file('.gitlab-ci.yml', head.id)!);
    const testRequestsBefore = fake.count({ method: 'GET', path: /test_report_summary$/ });

    // the suite ran: 3 of 412 tests failed (a developer broke them); the test job was retried once
    const { pipeline } = s.project.addPipeline({
      sha: head.id,
      ref: s.branch,
      status: 'failed',
      duration: 600,
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'unit-tests', stage: 'test', status: 'failed', failure_reason: 'runner_system_failure', retried: true },
        { name: 'unit-tests', stage: 'test', status: 'failed', tests: { success: 409, failed: 3 }, coverage: 71.5 },
      ],
    });
    expect((await deliver(pipelineHook(fake, pipeline.id))).status).toBe(202);
    await settle();
    // the pinned budget: one test report summary read for this finished pipeline
    expect(fake.count({ method: 'GET', path: /test_report_summary$/ })).toBe(testRequestsBefore + 1);
    // the outcome reply credits the configuration and blames the code: no rollback offered, no log read
    const outcome = repliesIn(s, gen.note.discussionId).at(-1)!;
    expect(outcome.body).toContain(
      'red: 3 of 412 tests failed — the configuration worked; counted for the configuration.',
    );
    expect(outcome.body).toContain('Fix the code (or the tests) and push; no rollback is needed.');
    expect(outcome.body).not.toContain('/pipeline rollback');
    expect(fake.count({ method: 'GET', path: /\/trace$/ })).toBe(0);

    const stored = await db()
      .selectFrom('learning_runs')
      .select(['attribution', 'attribution_summary', 'tests_total', 'tests_failed', 'coverage'])
      .where('pipeline_id', '=', pipeline.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      attribution: 'works',
      attribution_summary: 'red: 3 of 412 tests failed — the configuration worked',
      tests_total: 412,
      tests_failed: 3,
    });
    expect(Number(stored.coverage)).toBeCloseTo(71.5, 6);

    const decision = (await learner.decisions({ tenant: 'initech' })).find(
      (d) => d.id === decisionIdOf(proposal.body),
    )!;
    expect(decision.reward).toMatchObject({
      success: 0,
      formulaVersion: REWARD_FORMULA_V2,
      attribution: 'works',
      credit: 1,
      testsTotal: 412,
    });
    expect(decision.reward!.reward).toBeGreaterThan(1);

    // the arm is credited (v1 would have counted a failure) and the next choice sees it
    const arm = (await learner.arms({ tenant: 'initech', language: 'go', framework: decision.context.framework })).find(
      (a) => a.hash === hash,
    )!;
    expect(arm).toMatchObject({ runs: 1, successes: 1 });
    expect(arm.mean).toBeCloseTo(3 / 4, 9);
    const next = await learner.choose(decision.context, [
      { hash, source: 'template', config: '', label: 'the one that ran' },
      { hash: 'f'.repeat(64), source: 'template', config: '', label: 'untried' },
    ]);
    const seen = (await learner.decisions({ tenant: 'initech' })).find((d) => d.id === next.decisionId)!;
    const stats = seen.arms.find((a) => a.hash === hash)!;
    expect(stats.alpha - stats.beta).toBeCloseTo(2, 6);

    // people see the same reading in the MR
    const status = await comment(s, '/pipeline status');
    expect(repliesIn(s, status.note.discussionId).at(-1)?.body).toContain(
      'The learner reads it as: red: 3 of 412 tests failed — the configuration worked; counted for the configuration.',
    );
    const statsReply = await comment(s, '/pipeline stats');
    expect(repliesIn(s, statsReply.note.discussionId).at(-1)?.body).toContain(
      `\`${hash.slice(0, 12)}\`: red: 3 of 412 tests failed — the configuration worked`,
    );
  });

  it('generates over REST with the API token (the shape of `generate --json`)', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('initech/web/portal', NODE_EXPRESS_FILES);
    const body = { project: s.project.path, ref: 'main' };

    const res = await post('/api/v1/pipeline/generate', body, { authorization: `Bearer ${API_TOKEN}` });
    expect(res.status).toBe(200);
    const g = (await res.json()) as Record<string, unknown>;
    expect(
      Object.keys(g)
        .filter((k) => k !== 'dockerfile')
        .sort(),
    ).toEqual(['config', 'confidence', 'evidence', 'framework', 'language', 'source', 'tests', 'versions'].sort());
    expect(g).toMatchObject({ language: 'node', framework: 'express' });
    expect(['reinforcement_learning', 'template', 'default', 'llm']).toContain(g.source);
    expect(typeof g.confidence).toBe('number');
    expect(g.confidence as number).toBeGreaterThan(0);
    expect(g.confidence as number).toBeLessThanOrEqual(1);
    expect(g.evidence).toContainEqual(expect.objectContaining({ file: 'package.json' }));
    expect(g.config).toMatch(/^learn_record:/m);
    // the API proposes; it writes nothing to the repository
    expect(s.project.file('.gitlab-ci.yml', 'main')).toBeUndefined();

    expect((await post('/api/v1/pipeline/generate', body)).status).toBe(401);
    expect((await post('/api/v1/pipeline/generate', body, { authorization: 'Bearer not-the-token' })).status).toBe(401);
    const withToken = await post(
      '/api/v1/pipeline/generate',
      { ...body, gitlab_token: 'glpat-should-never-be-used' },
      { authorization: `Bearer ${API_TOKEN}` },
    );
    expect(withToken.status).toBe(400);
    expect(await withToken.text()).not.toContain('glpat-should-never-be-used');
  });

  /**
   * GitLab keeps the case of group paths ("Hooli/…"); the tenant is lower-cased everywhere (one tenantOf),
   * so a configuration learned in such a group is offered again.
   */
  it('offers a learned configuration again in a group whose path has capitals', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('Hooli/Core/api', NODE_EXPRESS_FILES);
    await comment(s, '/pipeline generate');
    await comment(s, '/pipeline approve');
    const head = s.project.history(s.branch)[0]!;
    const hash = sha256(s.project.file('.gitlab-ci.yml', head.id)!);
    const { pipeline } = s.project.addPipeline({
      sha: head.id,
      ref: s.branch,
      status: 'success',
      jobs: [{ name: 'node-test', stage: 'test', status: 'success' }],
    });
    await deliver(pipelineHook(fake, pipeline.id));
    await settle();
    expect(
      (await learner.arms({ tenant: 'hooli', language: 'node', framework: 'express' })).find((a) => a.hash === hash),
    ).toMatchObject({ runs: 1, successes: 1 });

    const gen2 = await comment(s, '/pipeline generate');
    const proposal2 = repliesIn(s, gen2.note.discussionId)[0]!;
    const decision2 = (await learner.decisions({ tenant: 'hooli' })).find((d) => d.id === decisionIdOf(proposal2.body));
    expect(decision2!.arms).toContainEqual(expect.objectContaining({ source: 'learned', hash }));
  });

  it('refuses a forged webhook and answers a redelivered one once', async (t) => {
    if (!store) return t.skip();
    const s = setupProject('umbrella/labs/tool', NODE_EXPRESS_FILES);
    const count = async () => ({
      deliveries: Number(
        (
          await db()
            .selectFrom('webhook_deliveries')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
      jobs: Number(
        (
          await db()
            .selectFrom('jobs')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    });

    const before = await count();
    const forged = noteHook(fake, s.project, s.mrIid, s.dev.id, '/pipeline generate');
    const refused = await deliver(forged, 'not-the-secret');
    expect(refused.status).toBe(401);
    const missing = await post('/webhooks/gitlab', forged.body, forged.headers);
    expect(missing.status).toBe(401);
    await settle();
    expect(await count()).toEqual(before);
    expect(botNotes(s)).toHaveLength(0);

    const help = noteHook(fake, s.project, s.mrIid, s.dev.id, '/pipeline help');
    const first = await deliver(help);
    expect(first).toMatchObject({ status: 202, body: { status: 'accepted' } });
    const again = await deliver(help);
    expect(again).toMatchObject({ status: 202, body: { status: 'duplicate' } });
    await settle();
    expect(await count()).toEqual({ deliveries: before.deliveries + 1, jobs: before.jobs + 1 });
    const replies = repliesIn(s, help.note.discussionId);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toContain('/pipeline approve');
  });
});
