import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeReply } from '../../src/commands/markdown.js';
import { conversationMessages, execution, latestProposal } from '../../src/db/commandStore.js';
import type { Store } from '../../src/db/openDatabase.js';
import { NoProposalError, searchedFor } from '../../src/generation/honestTests.js';
import { handleEmojiEvent } from '../../src/jobs/handlers/emojiEvent.js';
import { handleNoteEvent, noteEventJobHandler } from '../../src/jobs/handlers/noteEvent.js';
import { handleProposalOutcome } from '../../src/jobs/handlers/proposalOutcome.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { EXPRESS_PIPELINE, emojiPayload, pipelineRun, scenario } from './support/harness.js';

describe.each(storeKinds)('merge request commands (%s)', (kind) => {
  let gl: FakeGitLab;
  let store: Store | null;

  beforeAll(async () => {
    gl = await startFakeGitLab();
    store = await openTestStore(kind);
  });
  afterAll(async () => {
    await store?.close();
    await gl?.close();
  });

  const setup = (opts?: Parameters<typeof scenario>[2]) => {
    if (!store) throw new Error('store unavailable');
    return scenario(gl, store, opts);
  };

  it('runs the whole loop: generate → approve → pipeline success → recorded', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    const gen = s.comment(s.dev, '/pipeline generate');
    const r1 = await handleNoteEvent(gen.payload, s.deps, s.job());
    expect(r1).toMatchObject({ outcome: 'replied', verb: 'generate' });

    // The reply is in the command's thread and the command note got the receipt emoji.
    const [proposalNote] = s.botNotes();
    expect(proposalNote.discussionId).toBe(gen.note.discussionId);
    expect(gen.note.awards.map((a) => a.name)).toEqual(['eyes']);
    expect(proposalNote.body).toContain('### Proposal 1: node / express');
    expect(proposalNote.body).toContain('<details><summary><code>.gitlab-ci.yml</code>');
    expect(proposalNote.body).toContain('template node-express');
    expect(proposalNote.body).toContain('package.json depends on express');
    expect(proposalNote.body).toContain('80% expected success');
    const p1 = await latestProposal(store.db, s.project.id, s.mr.iid);
    expect(proposalNote.body).toContain(p1?.decisionId as string);
    expect(proposalNote.body.trimEnd().endsWith('Next: `/pipeline approve 1` commits it to `feature`.')).toBe(true);
    expect(p1).toMatchObject({ status: 'generated', noteId: proposalNote.id, baseSha: s.project.head('feature') });

    const approve = s.comment(s.dev, '/pipeline approve 1');
    const r2 = await handleNoteEvent(approve.payload, s.deps, s.job());
    expect(r2).toMatchObject({ outcome: 'replied', verb: 'approve' });
    const head = s.branchCommits()[0];
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBe(EXPRESS_PIPELINE);
    expect(head.authorName).toBe('pipeline-learner');
    expect(head.message).toContain('Approved-by: Dee Veloper (@');
    expect(head.message).toContain(`#note_${proposalNote.id}`);
    const approveReply = s.botNotes().at(-1);
    expect(approveReply?.discussionId).toBe(approve.note.discussionId);
    expect(approveReply?.body).toContain(`as [${head.id.slice(0, 8)}]`);

    // The pipeline on the approval commit: running, then success. One outcome note, edited.
    const { pipeline } = s.project.addPipeline({
      sha: head.id,
      ref: 'feature',
      status: 'running',
      jobs: [{ name: 'test', stage: 'test' }],
    });
    const running = pipelineRun(s.project, pipeline, [{ name: 'test', stage: 'test', status: 'running' }]);
    expect(await handleProposalOutcome({ ...running, status: 'running' }, s.deps)).toBe('updated');
    const notesAfterRunning = s.botNotes().length;
    s.project.setPipelineStatus(pipeline.id, 'success', { test: 'success' });
    const success = pipelineRun(s.project, { ...pipeline, status: 'success' }, [
      { name: 'test', stage: 'test', status: 'success' },
    ]);
    s.learner.recorded.set(pipeline.id, {
      success: true,
      attribution: 'works',
      summary: 'green: 12 tests passed — the configuration worked',
      testsTotal: 12,
      testsFailed: 0,
    });
    expect(await handleProposalOutcome(success, s.deps)).toBe('updated');
    expect(await handleProposalOutcome(success, s.deps)).toBe('unchanged');
    expect(s.botNotes().length).toBe(notesAfterRunning);
    const outcome = s.botNotes().at(-1);
    expect(outcome?.body).toContain('passed');
    expect(outcome?.body).toContain('**What the learner recorded** for configuration `');
    expect(outcome?.body).toContain(
      'green: 12 tests passed — the configuration worked; counted for the configuration.',
    );
    expect(outcome?.discussionId).toBe(gen.note.discussionId);
    expect(s.learner.rewards).toEqual([{ decisionId: p1?.decisionId, pipelineId: pipeline.id }]);
    expect(await latestProposal(store.db, s.project.id, s.mr.iid)).toMatchObject({
      status: 'succeeded',
      commitSha: head.id,
      outcomeNoteId: outcome?.id,
    });

    // status shows the stages of the head's newest pipeline
    const status = s.comment(s.reporter, '/pipeline status');
    await handleNoteEvent(status.payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toMatch(/pipeline #\d+.*is \*\*success\*\*/);
    expect(s.botNotes().at(-1)?.body).toContain('| test |');

    // history: the conversation holds each command and each reply
    const messages = await conversationMessages(store.db, s.project.id, s.mr.iid);
    expect(messages.filter((m) => m.role === 'user').map((m) => (m.command as { verb: string }).verb)).toEqual([
      'generate',
      'approve',
      'status',
    ]);
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(3);

    // GitLab would run quick actions in the bot's own notes: no line may start with one
    for (const n of s.botNotes()) expect(safeReply(n.body)).toBe(n.body);
  });

  it("commits the proposal's Dockerfile too, and rollback removes it", async (t) => {
    if (!store) return t.skip();
    const s = setup();
    s.generator.dockerfile = 'FROM node:20\nCOPY . .\n';
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toContain('<details><summary><code>Dockerfile</code>');
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve').payload, s.deps, s.job());
    expect(s.project.file('Dockerfile', 'feature')).toBe('FROM node:20\nCOPY . .\n');
    expect(s.project.history('feature')[0].files.has('.gitlab-ci.yml')).toBe(true);
    await handleNoteEvent(s.comment(s.dev, '/pipeline rollback').payload, s.deps, s.job());
    expect(s.project.file('Dockerfile', 'feature')).toBeUndefined();
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBeUndefined();
  });

  it('refuses approve by a Guest and commits nothing', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const before = s.project.head('feature');
    await handleNoteEvent(s.comment(s.guest, '/pipeline approve').payload, s.deps, s.job());
    expect(s.project.head('feature')).toBe(before);
    expect(s.botNotes().at(-1)?.body).toContain('needs at least the Developer role');
    expect(s.project.history('feature').some((c) => c.message.includes('pipeline-learner proposal'))).toBe(false);

    // a Reporter may look but not approve
    await handleNoteEvent(s.comment(s.reporter, '/pipeline show').payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toContain('### Proposal 1');
    await handleNoteEvent(s.comment(s.reporter, '/pipeline approve').payload, s.deps, s.job());
    expect(s.project.head('feature')).toBe(before);
  });

  it("ignores the bot's own notes, edits, internal notes and commands in code blocks", async (t) => {
    if (!store) return t.skip();
    const s = setup();
    const own = s.comment(gl.bot, '/pipeline generate');
    expect(await handleNoteEvent(own.payload, s.deps, s.job())).toEqual({
      outcome: 'ignored',
      reason: "the bot's own note",
    });
    const edited = s.comment(s.dev, '/pipeline generate', { action: 'update' });
    expect(await handleNoteEvent(edited.payload, s.deps, s.job())).toMatchObject({ outcome: 'ignored' });
    const internal = s.comment(s.dev, '/pipeline generate', { internal: true });
    expect(await handleNoteEvent(internal.payload, s.deps, s.job())).toMatchObject({ outcome: 'ignored' });
    const code = s.comment(s.dev, 'Run this when ready:\n```\n/pipeline approve\n```');
    expect(await handleNoteEvent(code.payload, s.deps, s.job())).toEqual({ outcome: 'ignored', reason: 'no command' });
    const fenced = s.comment(s.dev, '```\n@pipeline-bot approve\n```');
    expect(await handleNoteEvent(fenced.payload, s.deps, s.job())).toEqual({
      outcome: 'ignored',
      reason: 'no command',
    });
    expect(s.botNotes().filter((n) => n.id !== own.note.id)).toHaveLength(0);
    expect(s.generator.requests).toHaveLength(0);
    expect(own.note.awards).toHaveLength(0);
  });

  it('answers the same delivery once', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    const help = s.comment(s.reporter, '/pipeline help');
    expect(await handleNoteEvent(help.payload, s.deps, s.job())).toMatchObject({ outcome: 'replied' });
    expect(await handleNoteEvent(help.payload, s.deps, s.job())).toEqual({ outcome: 'duplicate' });
    // through the worker's job handler too
    const handler = noteEventJobHandler(s.deps);
    const ctx = {
      job: { id: 7, kind: 'note_event', payload: help.payload, attempts: 1, maxAttempts: 8, deliveryId: null },
      log: s.log,
    };
    await handler(help.payload, ctx as unknown as Parameters<typeof handler>[1]);
    expect(s.botNotes()).toHaveLength(1);
    expect(s.botNotes()[0].body).toContain('/pipeline approve [N] [--force]');
  });

  it('does not commit twice when an approval is retried after a crash', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const approve = s.comment(s.dev, '/pipeline approve');
    await handleNoteEvent(approve.payload, s.deps, s.job());
    const head = s.project.head('feature');
    // Simulate a crash right after the commit: neither the proposal nor the execution got recorded.
    const key = `note:${s.project.id}:${approve.note.id}`;
    await store.db
      .updateTable('command_executions')
      .set({ status: 'started', reply_body: null })
      .where('key', '=', key)
      .execute();
    await store.db
      .updateTable('proposals')
      .set({ status: 'approved', commit_sha: null })
      .where('project_id', '=', s.project.id)
      .execute();
    const again = await handleNoteEvent(approve.payload, s.deps, s.job());
    expect(s.project.head('feature')).toBe(head);
    expect(again).toMatchObject({ outcome: 'replied' });
    expect(await latestProposal(store.db, s.project.id, s.mr.iid)).toMatchObject({
      status: 'committed',
      commitSha: head,
    });
  });

  it('serialises two approvals at once on one MR: one commit', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const before = s.project.history('feature').length;
    const a = s.comment(s.dev, '/pipeline approve 1');
    const b = s.comment(s.dev, '/pipeline commit 1');
    await Promise.all([handleNoteEvent(a.payload, s.deps, s.job()), handleNoteEvent(b.payload, s.deps, s.job())]);
    expect(s.project.history('feature').length).toBe(before + 1);
    const replies = s
      .botNotes()
      .slice(-2)
      .map((n) => n.body);
    expect(replies.filter((r) => r.startsWith('Committed proposal 1'))).toHaveLength(1);
    expect(replies.filter((r) => r.includes('already on'))).toHaveLength(1);
  });

  it('refuses when the branch moved since generate, and --force commits anyway', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const moved = s.project.commit('feature', { 'src/more.js': 'x\n' }, { message: 'more work' });
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve').payload, s.deps, s.job());
    expect(s.project.head('feature')).toBe(moved);
    const reply = s.botNotes().at(-1)?.body ?? '';
    expect(reply).toContain('moved since proposal 1');
    expect(reply).toContain('`/pipeline generate`');
    expect(reply).toContain('`/pipeline approve 1 --force`');
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve 1 --force').payload, s.deps, s.job());
    expect(s.project.head('feature')).not.toBe(moved);
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBe(EXPRESS_PIPELINE);
  });

  it('reports a failing pipeline with its failed jobs, then rolls back to the previous file', async (t) => {
    if (!store) return t.skip();
    const original = 'build:\n  script: [make]\n';
    const s = setup({ files: { '.gitlab-ci.yml': original, 'package.json': '{}\n' } });
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const proposalBody = s.botNotes()[0].body;
    expect(proposalBody).toContain('Change against the branch');
    expect(proposalBody).toContain('-  script: [make]');
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve').payload, s.deps, s.job());
    const sha = s.project.head('feature') as string;
    const { pipeline } = s.project.addPipeline({
      sha,
      ref: 'feature',
      status: 'failed',
      jobs: [{ name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' }],
    });
    const run = pipelineRun(s.project, pipeline, [
      { name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
    ]);
    // a learner without a record of the pipeline: the reply says it counts neither way, and offers both ways out
    expect(await handleProposalOutcome(run, s.deps)).toBe('updated');
    const outcome = s.botNotes().at(-1)?.body ?? '';
    expect(outcome).toContain('failed');
    expect(outcome).toContain('`test` (stage `test`): script_failure');
    expect(outcome).toContain('The learner holds no record of this pipeline');
    expect(outcome).toContain('`/pipeline rollback`');
    expect(outcome).toContain('`/pipeline generate`');
    expect(s.learner.rewards).toHaveLength(1);

    // status shows the failed job with its reason
    await handleNoteEvent(s.comment(s.dev, '/pipeline status').payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toContain('script_failure: the job script exited with an error');

    await handleNoteEvent(s.comment(s.dev, '/pipeline rollback').payload, s.deps, s.job());
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBe(original);
    expect(s.botNotes().at(-1)?.body).toContain('Rolled back proposal 1');
    expect(await latestProposal(store.db, s.project.id, s.mr.iid)).toMatchObject({ status: 'rolled_back' });
    // a second rollback does not undo anything else
    const head = s.project.head('feature');
    await handleNoteEvent(s.comment(s.dev, '/pipeline rollback').payload, s.deps, s.job());
    expect(s.project.head('feature')).toBe(head);
    expect(s.botNotes().at(-1)?.body).toContain('already rolled back');
  });

  it('removes the file on rollback when there was none before', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve').payload, s.deps, s.job());
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBe(EXPRESS_PIPELINE);
    await handleNoteEvent(s.comment(s.dev, '/pipeline rollback').payload, s.deps, s.job());
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBeUndefined();
  });

  it('answers an unknown verb with a suggestion, and accepts the @bot form', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline aprove').payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toBe('Unknown command `aprove`. Did you mean `/pipeline approve`?');
    const r = await handleNoteEvent(
      s.comment(s.dev, `@${gl.bot.username} generate --framework express`).payload,
      s.deps,
      s.job(),
    );
    expect(r).toMatchObject({ outcome: 'replied', verb: 'generate' });
    expect(s.generator.requests.at(-1)?.overrides).toEqual({ framework: 'express' });
    expect(s.botNotes().at(-1)?.body).toContain('### Proposal 1');
  });

  it('takes thumbs on a proposal as feedback, revokes them, and ignores the bot', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const proposal = await latestProposal(store.db, s.project.id, s.mr.iid);
    const noteId = proposal?.noteId as number;
    const up = emojiPayload(s.project, s.mr.iid, s.reporter, noteId, 'thumbsup', 'award', 71);
    expect(await handleEmojiEvent(up, s.deps, s.job())).toMatchObject({ outcome: 'recorded', kind: 'thumbs_up' });
    expect(await handleEmojiEvent(up, s.deps, s.job())).toEqual({ outcome: 'duplicate' });
    const revoke = emojiPayload(s.project, s.mr.iid, s.reporter, noteId, 'thumbsup', 'revoke', 71);
    expect(await handleEmojiEvent(revoke, s.deps, s.job())).toMatchObject({ outcome: 'recorded', revoke: true });
    const fromBot = emojiPayload(s.project, s.mr.iid, gl.bot, noteId, 'thumbsdown', 'award', 72);
    expect(await handleEmojiEvent(fromBot, s.deps, s.job())).toMatchObject({ outcome: 'ignored' });
    const elsewhere = emojiPayload(s.project, s.mr.iid, s.reporter, 1, 'thumbsdown', 'award', 73);
    expect(await handleEmojiEvent(elsewhere, s.deps, s.job())).toMatchObject({ outcome: 'ignored' });
    expect(s.learner.feedbacks).toEqual([
      { decisionId: proposal?.decisionId, userId: s.reporter.id, kind: 'thumbs_up', revoke: false },
      { decisionId: proposal?.decisionId, userId: s.reporter.id, kind: 'thumbs_up', revoke: true },
    ]);

    await handleNoteEvent(s.comment(s.reporter, '/pipeline rate 4 quick').payload, s.deps, s.job());
    expect(s.learner.feedbacks.at(-1)).toEqual({
      decisionId: proposal?.decisionId,
      userId: s.reporter.id,
      kind: 'rating',
      value: 4,
    });
    expect(s.botNotes().at(-1)?.body).toContain('rated proposal 1 4/5');
  });

  it('shows best and stats from the learner', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    s.learner.armList = [
      {
        hash: 'a'.repeat(64),
        source: 'template',
        label: 'template node-express',
        runs: 3,
        mean: 0.6,
        low: 0.3,
        high: 0.85,
      },
      {
        hash: 'b'.repeat(64),
        source: 'learned',
        label: 'learned from acme/x',
        runs: 9,
        mean: 0.9,
        low: 0.75,
        high: 0.98,
      },
    ];
    await handleNoteEvent(s.comment(s.reporter, '/pipeline best').payload, s.deps, s.job());
    expect(s.botNotes().at(-1)?.body).toContain("I don't know this project's stack yet");
    await handleNoteEvent(
      s.comment(s.reporter, '/pipeline best --language node --framework express').payload,
      s.deps,
      s.job(),
    );
    expect(s.botNotes().at(-1)?.body).toContain('`bbbbbbbbbbbb` (learned from acme/x, learned): 90% success');
    await handleNoteEvent(
      s.comment(s.reporter, '/pipeline stats --language node --framework express').payload,
      s.deps,
      s.job(),
    );
    const stats = s.botNotes().at(-1)?.body ?? '';
    expect(stats).toContain('2 configurations, 12 runs in all');
    expect(stats.indexOf('bbbbbbbbbbbb')).toBeLessThan(stats.indexOf('aaaaaaaaaaaa'));
    expect(stats).not.toContain('/dashboard');

    // with PUBLIC_URL both replies link the stack's dashboard page
    const linked = { ...s.deps, config: { ...s.deps.config, publicUrl: 'https://learner.example' } };
    for (const cmd of ['stats', 'best']) {
      await handleNoteEvent(
        s.comment(s.reporter, `/pipeline ${cmd} --language Node --framework express`).payload,
        linked,
        s.job(),
      );
      expect(s.botNotes().at(-1)?.body).toContain('(https://learner.example/dashboard/stack/acme/node/express)');
    }
  });

  it('refuses closed MRs and forks, and honours the allowlist, dry-run and rate limits', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    const closed = s.project.addMergeRequest({ sourceBranch: 'feature', state: 'closed' });
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate', { iid: closed.iid }).payload, s.deps, s.job());
    expect(s.botNotes(closed.iid).at(-1)?.body).toContain('This merge request is closed');

    const fork = gl.addProject({ path: `someone/fork-${s.project.id}`, files: { 'package.json': '{}' } });
    fork.commit('patch', { 'a.txt': 'a' }, { from: 'main' });
    const forked = s.project.addMergeRequest({ sourceBranch: 'patch', sourceProjectId: fork.id });
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate', { iid: forked.iid }).payload, s.deps, s.job());
    expect(s.botNotes(forked.iid).at(-1)?.body).toContain('comes from a fork');
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve', { iid: forked.iid }).payload, s.deps, s.job());
    expect(s.botNotes(forked.iid).at(-1)?.body).toContain('cannot push to a fork');
    expect(fork.file('.gitlab-ci.yml', 'patch')).toBeUndefined();

    const outside = { ...s.deps, config: { ...s.deps.config, allowlist: ['other-group'] } };
    expect(await handleNoteEvent(s.comment(s.dev, '/pipeline help').payload, outside, s.job())).toMatchObject({
      reason: 'project not in the allowlist',
    });
    const inside = { ...s.deps, config: { ...s.deps.config, allowlist: ['acme/team'] } };
    expect(await handleNoteEvent(s.comment(s.dev, '/pipeline help').payload, inside, s.job())).toMatchObject({
      outcome: 'replied',
    });

    const dry = { ...s.deps, config: { ...s.deps.config, dryRun: true } };
    const notesBefore = s.botNotes().length;
    const headBefore = s.project.head('feature');
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, dry, s.job());
    const dryApprove = s.comment(s.dev, '/pipeline approve');
    const r = await handleNoteEvent(dryApprove.payload, dry, s.job());
    expect(r).toMatchObject({ outcome: 'replied', replyNoteId: null });
    expect(s.botNotes().length).toBe(notesBefore);
    expect(s.project.head('feature')).toBe(headBefore);
    expect(dryApprove.note.awards).toHaveLength(0);
    expect((await execution(store.db, `note:${s.project.id}:${dryApprove.note.id}`))?.reply_body).toContain(
      'Committed proposal',
    );

    const limited = { ...s.deps, config: { ...s.deps.config, ratePerUserPerHour: 1 } };
    const u = gl.addUser({ username: `busy${s.project.id}` });
    s.project.addMember(u.id, 30);
    await handleNoteEvent(s.comment(u, '/pipeline help').payload, limited, s.job());
    await handleNoteEvent(s.comment(u, '/pipeline help').payload, limited, s.job());
    expect(s.botNotes().at(-1)?.body).toContain('limit of 1 commands per hour');
    const count = s.botNotes().length;
    expect(await handleNoteEvent(s.comment(u, '/pipeline help').payload, limited, s.job())).toMatchObject({
      outcome: 'silent',
    });
    expect(s.botNotes().length).toBe(count);
  });

  it('says the command failed, with the job id, on an unexpected error', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    s.generator.proposePipeline = async () => {
      throw new Error('analysis exploded');
    };
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, { id: 'job-42' });
    expect(s.botNotes().at(-1)?.body).toContain('The command failed (job `job-42`)');
    expect(s.log.lines.some((l) => l.level === 'error' && l.obj.job === 'job-42')).toBe(true);
  });

  it('answers an unknown stack without tests with no proposal and what was searched for', async (t) => {
    if (!store) return t.skip();
    const s = setup();
    s.generator.proposePipeline = async () => {
      throw new NoProposalError(searchedFor());
    };
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, { id: 'job-43' });
    const body = s.botNotes().at(-1)?.body ?? '';
    expect(body).toMatch(/^No proposal: no known stack and no tests found/);
    expect(body).toContain('Searched for: go.mod (go)');
    expect(await latestProposal(store.db, s.project.id, s.mr.iid)).toBeNull();
  });
});
