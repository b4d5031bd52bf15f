import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDeps } from '../../src/commands/CommandDeps.js';
import { projectFromInput, restCommit, restStatus } from '../../src/commands/restOperations.js';
import { commandStoreFor, latestProposal } from '../../src/db/commandStore.js';
import type { Store } from '../../src/db/openDatabase.js';
import { RetryableError, UserFacingError } from '../../src/errors.js';
import { handleNoteEvent } from '../../src/jobs/handlers/noteEvent.js';
import { handleProposalOutcome } from '../../src/jobs/handlers/proposalOutcome.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { EXPRESS_PIPELINE, pipelineRun, scenario } from './support/harness.js';

describe.each(storeKinds)('REST operations and retries (%s)', (kind) => {
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

  const commandDeps = (s: ReturnType<typeof scenario>): CommandDeps => ({
    gitlab: s.gitlab,
    store: commandStoreFor(s.deps.db),
    generator: s.generator,
    learner: s.learner,
    clock: () => new Date(),
    config: s.deps.config,
  });

  it('POST /api/v1/pipeline/commit and /status do what approve and status do', async (t) => {
    if (!store) return t.skip();
    const s = scenario(gl, store);
    const deps = commandDeps(s);
    await expect(restCommit({ project: s.project.path, merge_request_iid: s.mr.iid }, deps)).rejects.toThrow(
      /no proposal on this merge request/,
    );
    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    const result = await restCommit(
      { repo_url: `${s.project.webUrl}.git`, merge_request_iid: s.mr.iid, approved_by: 'ci-tool' },
      deps,
    );
    expect(result).toMatchObject({ proposal: 1, status: 'committed', committed: true, branch: 'feature' });
    expect(result.commit_sha).toBe(s.project.head('feature'));
    expect(s.project.history('feature')[0].message).toContain('Approved-by: @ci-tool');
    // a retried request commits nothing new
    expect(await restCommit({ project: s.project.id, merge_request_iid: s.mr.iid }, deps)).toMatchObject({
      committed: false,
    });
    expect(s.project.file('.gitlab-ci.yml', 'feature')).toBe(EXPRESS_PIPELINE);

    s.project.addPipeline({
      sha: result.commit_sha as string,
      ref: 'feature',
      status: 'failed',
      jobs: [
        { name: 'lint', stage: 'build', status: 'success' },
        { name: 'unit', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
      ],
    });
    const status = await restStatus({ project: s.project.path, merge_request_iid: s.mr.iid }, deps);
    expect(status.pipeline?.status).toBe('failed');
    expect(status.stages).toEqual([
      { name: 'build', status: 'success', jobs: 1 },
      { name: 'test', status: 'failed', jobs: 1 },
    ]);
    expect(status.failed_jobs).toEqual([
      { name: 'unit', stage: 'test', failure_reason: 'script_failure', allow_failure: false },
    ]);
    expect((await restStatus({ project: s.project.path, branch: 'main' }, deps)).pipeline).toBeNull();
    expect(() => projectFromInput({})).toThrow(UserFacingError);
  });

  it('asks for a retry when GitLab fails, then answers exactly once', async (t) => {
    if (!store) return t.skip();
    const s = scenario(gl, store);
    const help = s.comment(s.dev, '/pipeline help');
    gl.failNext({ method: 'POST', path: `/merge_requests/${s.mr.iid}/discussions/`, status: 502 });
    await expect(handleNoteEvent(help.payload, s.deps, s.job())).rejects.toBeInstanceOf(Error);
    expect(s.botNotes()).toHaveLength(0);
    await handleNoteEvent(help.payload, s.deps, s.job());
    await handleNoteEvent(help.payload, s.deps, s.job());
    expect(s.botNotes()).toHaveLength(1);

    // a GitLab outage while running the command: retryable, and on the last attempt a failure reply
    const gen = s.comment(s.dev, '/pipeline generate');
    gl.failNext({ method: 'GET', path: '/repository/branches/', status: 503 });
    await expect(handleNoteEvent(gen.payload, s.deps, s.job())).rejects.toBeInstanceOf(RetryableError);
    gl.failNext({ method: 'GET', path: '/repository/branches/', status: 503 });
    await handleNoteEvent(gen.payload, s.deps, { id: 'job-last', lastAttempt: true });
    expect(s.botNotes().at(-1)?.body).toContain('The command failed (job `job-last`)');
  });

  it('ignores pipelines that are not approval commits, and stale ones', async (t) => {
    if (!store) return t.skip();
    const s = scenario(gl, store);
    const other = s.project.addPipeline({ ref: 'feature', status: 'success' });
    expect(await handleProposalOutcome(pipelineRun(s.project, other.pipeline, []), s.deps)).toBe('no_proposal');

    await handleNoteEvent(s.comment(s.dev, '/pipeline generate').payload, s.deps, s.job());
    await handleNoteEvent(s.comment(s.dev, '/pipeline approve').payload, s.deps, s.job());
    const sha = s.project.head('feature') as string;
    const older = s.project.addPipeline({ sha, ref: 'feature', status: 'failed' });
    const newer = s.project.addPipeline({ sha, ref: 'feature', status: 'success' });
    expect(await handleProposalOutcome(pipelineRun(s.project, newer.pipeline, []), s.deps)).toBe('updated');
    expect(await handleProposalOutcome(pipelineRun(s.project, older.pipeline, []), s.deps)).toBe('stale');
    expect(await latestProposal(store.db, s.project.id, s.mr.iid)).toMatchObject({ status: 'succeeded' });
    expect(s.learner.rewards.map((r) => r.pipelineId)).toEqual([newer.pipeline.id]);
  });
});
