import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/db/openDatabase.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { createLogger } from '../../src/log.js';
import { type Service, startOnStore } from '../../src/main.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { loadPayload } from '../fakes/gitlabHooks.js';
import { openTestStore } from '../support/db.js';

const API_TOKEN = 'api-token-for-edges';
const SECRET = 'edges-webhook-secret';

/** The REST API through the real composition root, against the fake GitLab. */
describe('REST API edges', () => {
  let fake: FakeGitLab;
  let store: Store | null = null;
  let service: Service | null = null;
  let dataDir: string;

  beforeAll(async () => {
    fake = await startFakeGitLab();
    store = await openTestStore('pglite');
    dataDir = mkdtempSync(join(tmpdir(), 'pl-edges-'));
    const config = loadConfig({
      GITLAB_URL: fake.url,
      GITLAB_TOKEN: fake.token,
      GITLAB_WEBHOOK_SECRET: SECRET,
      API_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      RECONCILE_INTERVAL_S: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    });
    service = await startOnStore(config, store!, {
      log: createLogger({ level: 'silent' }),
      gitlab: createGitLab({ url: fake.url, token: fake.token, timeoutMs: 10_000 }),
      vectors: new EmbeddedVectorIndex(store!.db),
    });
  });
  afterAll(async () => {
    if (service) await service.stop();
    else await store?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    service!.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}`, ...headers },
      body: JSON.stringify(body),
    });

  it('an unknown project, merge request or pipeline is a 404 saying so, not a 502', async () => {
    const p = fake.addProject({ path: 'edges/app', files: { 'package.json': '{}' } });
    const cases: Array<[string, unknown]> = [
      ['/api/v1/pipeline/generate', { project: 'edges/no-such-project' }],
      ['/api/v1/pipeline/generate', { project: 987_654 }],
      ['/api/v1/pipeline/status', { project: 'edges/no-such-project', merge_request_iid: 1 }],
      ['/api/v1/pipeline/status', { project: p.id, merge_request_iid: 4242 }],
      ['/api/v1/pipeline/learn/record', { project_id: p.id, pipeline_id: 999_999 }],
    ];
    for (const [path, body] of cases) {
      const res = await post(path, body);
      const text = await res.text();
      expect(res.status, `${path} ${JSON.stringify(body)}: ${text}`).toBe(404);
      expect(text).toMatch(/not found on GitLab/);
      expect(text).not.toMatch(/could not be reached/);
    }
  });

  it('a GitLab that refuses the service token is a 502 naming the operator fix', async () => {
    fake.failNext({ path: '/projects/edges/app', status: 403, body: { message: '403 Forbidden' } });
    const res = await post('/api/v1/pipeline/generate', { project: 'edges/app' });
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/GITLAB_TOKEN/);
  });

  it.each([
    ['top level, another spelling', { project: 'edges/app', GITLAB_TOKEN: 'glpat-leak-1' }, 'GITLAB_TOKEN'],
    ['private_token', { project: 'edges/app', Private_Token: 'glpat-leak-2' }, 'Private_Token'],
    ['nested', { project: 'edges/app', options: { auth: [{ access_token: 'glpat-leak-3' }] } }, 'access_token'],
    ['job_token', { project: 'edges/app', JOB_TOKEN: 'leak-4' }, 'JOB_TOKEN'],
  ])('refuses a token key in the body (%s), saying why and what to do', async (_n, body, key) => {
    for (const path of ['/api/v1/pipeline/generate', '/api/v1/pipeline/learn/record', '/api/v1/pipeline/status']) {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain(`${key} is not accepted`);
      expect(text).toMatch(/JOB-TOKEN: \$CI_JOB_TOKEN/);
      expect(text).not.toMatch(/leak-\d/);
    }
  });

  it('refuses a token key in the query string, on reads too', async () => {
    for (const q of ['gitlab_token=x', 'PRIVATE_TOKEN=x', 'access_token=x', 'Job_Token=x']) {
      const res = await service!.app.request(`/api/v1/pipeline/learn/successful?${q}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/is not accepted/);
    }
    const post1 = await post('/api/v1/pipeline/generate?private_token=x', { project: 'edges/app' });
    expect(post1.status).toBe(400);
  });

  it('never refuses token-named keys in webhook payloads', async () => {
    const note = { ...loadPayload('note_on_mr'), private_token: 'not-ours', extra: { gitlab_token: 'x' } };
    const res = await service!.app.request('/webhooks/gitlab?access_token=x', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook', 'x-gitlab-token': SECRET },
      body: JSON.stringify(note),
    });
    expect(res.status).toBe(202);
  });
});
