#!/usr/bin/env node
// The fake GitLab (test/fakes, compiled by bench/support/fakes.mjs) in a process of its own, so it
// does not share the load generator's event loop. Seeds one project with BENCH_PIPELINES finished
// pipelines (ids from 1,000,001) and prints one JSON line: { url, token, projectId, firstId, count,
// hook } where `hook` is a real pipeline_success delivery for the first pipeline (headers and body).
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const count = Number(process.env.BENCH_PIPELINES ?? 40000);
const { startFakeGitLab } = await import(pathToFileURL(`${dir}/fakeGitLab.js`).href);
const { pipelineHook } = await import(pathToFileURL(`${dir}/gitlabHooks.js`).href);

const gl = await startFakeGitLab();
const p = gl.addProject({
  path: 'bench/app',
  files: {
    '.gitlab-ci.yml': 'stages: [test]\ntest:\n  stage: test\n  image: node:20\n  script: [npm ci, npm test]\n',
    'package.json': '{"name":"bench","scripts":{"test":"node --test"}}',
  },
});
const firstId = 1_000_001;
for (let i = 0; i < count; i++) {
  // iid given: the fake would otherwise scan every pipeline for the next one
  p.addPipeline({
    id: firstId + i,
    iid: i + 1,
    status: 'success',
    jobs: [{ name: 'test', stage: 'test', status: 'success' }],
  });
}
process.stderr.write(`fake GitLab: ${count} pipelines seeded in ${Math.round(performance.now())} ms\n`);
const hook = pipelineHook(gl, firstId);
// recorded requests are for tests' assertions; here they would only grow
setInterval(() => gl.resetRequests(), 2000).unref();
process.stdout.write(`${JSON.stringify({ url: gl.url, token: gl.token, projectId: p.id, firstId, count, hook })}\n`);
process.on('SIGTERM', () => gl.close().then(() => process.exit(0)));
