import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emojiHookSchema, noteHookSchema, pipelineHookSchema } from '../../src/webhooks/webhookPayloads.js';
import { type FakeGitLab, type FakeProject, lintYaml, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { emojiHook, noteHook, pipelineHook } from '../fakes/gitlabHooks.js';

let gl: FakeGitLab;
let p: FakeProject;

const api = (path: string, init: RequestInit = {}, token: string | null = gl.token) =>
  fetch(`${gl.url}/api/v4${path}`, {
    ...init,
    headers: { ...(token ? { 'PRIVATE-TOKEN': token } : {}), ...(init.headers as Record<string, string>) },
  });

beforeAll(async () => {
  gl = await startFakeGitLab({ maxPerPage: 3 });
  p = gl.addProject({ id: 7, path: 'group/sub/proj', files: { 'a.txt': 'a', 'dir/b.txt': 'b' } });
});
afterAll(async () => {
  await gl.close();
});

describe('fake GitLab speaks the REST API', () => {
  it('requires PRIVATE-TOKEN (or Bearer), 401 otherwise', async () => {
    expect((await api('/projects/7', {}, null)).status).toBe(401);
    expect((await api('/projects/7', {}, 'wrong')).status).toBe(401);
    expect((await api('/projects/7')).status).toBe(200);
    const bearer = await fetch(`${gl.url}/api/v4/projects/7`, { headers: { Authorization: `Bearer ${gl.token}` } });
    expect(bearer.status).toBe(200);
  });

  it('encoded project paths resolve; unencoded slashes do not', async () => {
    expect((await api('/projects/group%2Fsub%2Fproj')).status).toBe(200);
    expect((await api('/projects/group/sub/proj')).status).toBe(404);
    expect((await api('/projects/7/repository/files/dir%2Fb.txt/raw?ref=main')).status).toBe(200);
    expect((await api('/projects/7/repository/files/dir/b.txt/raw?ref=main')).status).toBe(404);
  });

  it('offset pagination headers', async () => {
    for (let i = 0; i < 7; i++) p.addPipeline({ status: 'success' });
    const res = await api('/projects/7/pipelines?per_page=50&page=2');
    expect(res.headers.get('x-per-page')).toBe('3');
    expect(res.headers.get('x-page')).toBe('2');
    expect(res.headers.get('x-total')).toBe('7');
    expect(res.headers.get('x-total-pages')).toBe('3');
    expect(res.headers.get('x-next-page')).toBe('3');
    expect(res.headers.get('x-prev-page')).toBe('1');
    expect(res.headers.get('link')).toMatch(/page=3[^>]*>; rel="next"/);
    expect(((await res.json()) as unknown[]).length).toBe(3);
  });

  it('keyset tree pagination ends without a next link', async () => {
    let url: string | null =
      `${gl.url}/api/v4/projects/7/repository/tree?ref=main&recursive=true&pagination=keyset&per_page=2`;
    const paths: string[] = [];
    while (url) {
      const res: Response = await fetch(url, { headers: { 'PRIVATE-TOKEN': gl.token } });
      paths.push(...((await res.json()) as Array<{ path: string }>).map((e) => e.path));
      url = res.headers.get('link')?.match(/<([^>]+)>; rel="next"/)?.[1] ?? null;
    }
    expect(paths).toEqual(['a.txt', 'dir', 'dir/b.txt']);
  });

  it('creates a branch with start_branch; refuses a missing branch without it', async () => {
    const commit = (body: object) =>
      api('/projects/7/repository/commits', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const actions = [{ action: 'create', file_path: 'new.txt', content: 'n' }];
    expect((await commit({ branch: 'topic', commit_message: 'm', actions })).status).toBe(400);
    const ok = await commit({ branch: 'topic', start_branch: 'main', commit_message: 'm', actions });
    expect(ok.status).toBe(201);
    expect(p.file('new.txt', 'topic')).toBe('n');
    expect(p.file('new.txt', 'main')).toBeUndefined();
    expect(p.history('topic')[1].id).toBe(p.head('main'));
  });

  it('fault injection: 429 with Retry-After for the next N matching calls only', async () => {
    gl.failNext({ method: 'GET', path: '/projects/group/sub/proj', status: 429, retryAfter: 3, times: 2 });
    const a = await api('/projects/group%2Fsub%2Fproj');
    const b = await api('/projects/group%2Fsub%2Fproj');
    const c = await api('/projects/group%2Fsub%2Fproj');
    expect([a.status, b.status, c.status]).toEqual([429, 429, 200]);
    expect(a.headers.get('retry-after')).toBe('3');
    expect(gl.count({ method: 'GET', path: '/projects/group/sub/proj' })).toBeGreaterThanOrEqual(3);
  });
});

describe('CI lint', () => {
  it('accepts a pipeline with a job and a component file with a spec header', () => {
    expect(lintYaml('stages: [build]\nb:\n  stage: build\n  script: [make]\n').valid).toBe(true);
    expect(
      lintYaml('spec:\n  inputs:\n    stage:\n      default: learn\n---\nlearn:\n  stage: .post\n  script: [x]\n')
        .valid,
    ).toBe(true);
    expect(lintYaml('a:\n  extends: .base\n.base:\n  script: [x]\n').valid).toBe(true);
  });

  it('reports invalid YAML, missing jobs, missing script, unknown stage and needs', () => {
    expect(lintYaml('a: [1,\n').errors[0]).toMatch(/line/);
    expect(lintYaml('variables: {A: 1}\n').errors).toContain('jobs config should contain at least one visible job');
    expect(lintYaml('a:\n  image: node\n').errors[0]).toMatch(/script/);
    expect(lintYaml('stages: [build]\na:\n  stage: test\n  script: [x]\n').errors[0]).toMatch(
      /chosen stage test does not exist/,
    );
    expect(lintYaml('a:\n  script: [x]\n  needs: [b]\n').valid).toBe(false);
  });
});

describe('hook builders agree with the state and the schemas', () => {
  it('pipeline, note and emoji hooks', async () => {
    const dev = gl.addUser({ username: 'dev2' });
    p.commit('feat', { 'c.txt': 'c' }, { from: 'main' });
    const mr = p.addMergeRequest({ sourceBranch: 'feat' });
    const { pipeline } = p.addPipeline({
      ref: 'feat',
      status: 'failed',
      jobs: [
        { name: 'build', stage: 'build', status: 'success' },
        { name: 'test', stage: 'test', status: 'failed', failure_reason: 'script_failure' },
      ],
    });
    const ph = pipelineHookSchema.parse(pipelineHook(gl, pipeline.id, { mergeRequestIid: mr.iid }).body);
    expect(ph.object_attributes).toMatchObject({
      id: pipeline.id,
      sha: p.head('feat'),
      status: 'failed',
      stages: ['build', 'test'],
    });
    expect(ph.builds.find((b) => b.name === 'test')?.failure_reason).toBe('script_failure');
    expect(ph.merge_request?.iid).toBe(mr.iid);

    const delivery = noteHook(gl, p, mr.iid, dev.id, '/pipeline generate');
    const nh = noteHookSchema.parse(delivery.body);
    expect(nh.object_attributes.discussion_id).toBe(delivery.note.discussionId);
    expect(delivery.headers['x-gitlab-event']).toBe('Note Hook');
    expect(p.notes(mr.iid).map((n) => n.body)).toContain('/pipeline generate');

    const eh = emojiHookSchema.parse(emojiHook(gl, p, mr.iid, delivery.note.id, dev.id, 'thumbsup').body);
    expect(eh.object_attributes).toMatchObject({ awardable_id: delivery.note.id, action: 'award', name: 'thumbsup' });
    expect(delivery.note.awards).toHaveLength(1);
    emojiHook(gl, p, mr.iid, delivery.note.id, dev.id, 'thumbsup', { action: 'revoke' });
    expect(delivery.note.awards).toHaveLength(0);
  });
});
