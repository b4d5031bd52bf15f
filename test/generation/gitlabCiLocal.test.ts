import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLearnStage, LEARN_JOB } from '../../src/generation/ensureLearnStage.js';
import { generatePipeline } from '../../src/generation/generatePipeline.js';
import { parseCiYaml } from '../../src/generation/parseCiYaml.js';
import { renderCiComponents } from '../../src/generation/renderCiComponents.js';
import { seedRuleChooser } from '../../src/generation/seedRuleChooser.js';
import { loadCorpus } from '../support/corpus.js';
import { gcl, gitRepo, pool, previewDoc, REMOTE_HOST, REMOTE_PATH, skipWithoutRsync } from './gcl.js';
import { EXPECTED, FIXTURES, fixtureReader } from './support.js';

/**
 * gitlab-ci-local as an independent validator (--preview resolves includes, extends and
 * components offline) and, for Node, Python and Go, as a runner with the shell executor.
 */

const LEARN_TEMPLATE = readFileSync(join(import.meta.dirname, '..', '..', 'templates', 'learn.yml'), 'utf8');
const SKIP = [
  '--variable',
  'CI_JOB_TOKEN=test-job-token',
  '--variable',
  'DEPENDENCY_SCANNING_DISABLED=true',
  '--variable',
  'CONTAINER_BUILD_DISABLED=true',
];

describe('gitlab-ci-local accepts what we generate', () => {
  it('previews every fixture pipeline, every ci-components file and the learn component', async () => {
    const files: Record<string, string> = { 'templates/learn.yml': LEARN_TEMPLATE };
    for (const [path, content] of renderCiComponents())
      if (path.endsWith('.yml')) files[`ci-components/${path}`] = content;
    const { dir, sha } = await gitRepo(files);
    const component = `$CI_SERVER_FQDN/${REMOTE_PATH}/learn@${sha}`;
    const targets: Array<{ file: string; learn: boolean }> = Object.keys(files)
      .filter((f) => f.startsWith('ci-components/'))
      .map((file) => ({ file, learn: false }));
    // the component with every input set, in a file without a stages list
    mkdirSync(join(dir, 'consumers'), { recursive: true });
    writeFileSync(
      join(dir, 'consumers', 'learn-inputs.yml'),
      `include:\n  - component: ${component}\n    inputs:\n      stage: .post\n      job_prefix: ci-\n      allow_failure: false\n      service_url: https://learner.example.com\nbuild:\n  script: [make]\n`,
    );
    targets.push({ file: 'consumers/learn-inputs.yml', learn: false });
    for (const name of Object.keys(EXPECTED)) {
      // an unknown stack with no tests gets no proposal (test/generation/honestTests.test.ts)
      if (name === 'unknown') continue;
      const inline = await generatePipeline(
        { reader: fixtureReader(name), tenant: 'local' },
        { chooser: seedRuleChooser, learnStage: { component: null, serviceUrl: 'https://learner.example.com' } },
      );
      targets.push({ file: `generated/${name}.yml`, learn: true });
      mkdirSync(join(dir, 'generated'), { recursive: true });
      writeFileSync(join(dir, 'generated', `${name}.yml`), inline.config);
      // the component include is the same for every stack: a few suffice
      if (!['go-generic', 'node-express', 'python-django'].includes(name)) continue;
      const viaComponent = await generatePipeline(
        { reader: fixtureReader(name), tenant: 'local' },
        { chooser: seedRuleChooser, learnStage: { component, serviceUrl: 'https://learner.example.com' } },
      );
      writeFileSync(join(dir, 'generated', `${name}.component.yml`), viaComponent.config);
      targets.push({ file: `generated/${name}.component.yml`, learn: true });
    }
    const results = await pool(targets, 2, async (t, slot) => ({
      ...t,
      r: await gcl(dir, ['--file', t.file, '--state-dir', `.gcl-${slot}`, '--preview']),
    }));
    const failures = results
      .filter((x) => x.r.code !== 0)
      .map((x) => `${x.file}: ${x.r.stderr || x.r.stdout}`.slice(0, 600));
    expect(failures).toEqual([]);
    for (const { file, learn, r } of results) {
      const expanded = previewDoc(r.stdout);
      if (file === 'consumers/learn-inputs.yml') {
        expect(expanded['ci-learn_record'], file).toMatchObject({ stage: '.post', allow_failure: false });
        expect(JSON.stringify(expanded['ci-learn_record'].script)).toContain('https://learner.example.com');
      }
      if (learn) {
        const job = expanded[LEARN_JOB];
        expect(job, file).toBeDefined();
        expect(JSON.stringify(job.script), file).toContain('/api/v1/pipeline/learn/record');
        if (file.endsWith('.component.yml'))
          expect(JSON.stringify(job.script), file).toContain('https://learner.example.com');
      }
    }
    expect(REMOTE_HOST).toBe('gitlab.example.com');
  }, 400_000);
});

const corpus = loadCorpus('gitlab-ci-local corpus preview test');
const LEARN_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'learn-stage');
const CI_KEYWORDS = new Set(['stages', 'include', 'variables', 'default', 'image', 'workflow', 'spec']);

describe('gitlab-ci-local on the learn-stage fixtures after ensureLearnStage', () => {
  it('accepts the edited fixtures, with every job of the original plus the learn job', async () => {
    // one preview costs seconds: the layouts whose syntax the edit touches most, not every fixture
    const inline = [
      'indent4-folded.yml',
      'indent2-flush-seq.yml',
      'crlf.yml',
      'no-trailing-newline.yml',
      'anchors.yml',
      'doc-start.yml',
      'spec-header.yml',
      'flow-root.yml',
      'keep-chomp-last.yml',
    ];
    const viaComponent = ['include-string.yml', 'include-map.yml', 'include-flow-list.yml', 'comments-first.yml'];
    const { dir, sha } = await gitRepo({
      'templates/learn.yml': LEARN_TEMPLATE,
      'ci/common.yml': readFileSync(join(LEARN_FIXTURES, 'ci', 'common.yml'), 'utf8'),
      'ci/more.yml': readFileSync(join(LEARN_FIXTURES, 'ci', 'more.yml'), 'utf8'),
    });
    const component = `$CI_SERVER_FQDN/${REMOTE_PATH}/learn@${sha}`;
    const url = 'https://learner.example.com';
    const targets = [
      ...inline.map((name) => ({ name, file: `inline/${name}`, options: { component: null, serviceUrl: url } })),
      ...viaComponent.map((name) => ({ name, file: `component/${name}`, options: { component, serviceUrl: url } })),
    ];
    for (const d of ['inline', 'component']) mkdirSync(join(dir, d), { recursive: true });
    for (const t of targets)
      writeFileSync(join(dir, t.file), ensureLearnStage(readFileSync(join(LEARN_FIXTURES, t.name), 'utf8'), t.options));
    const results = await pool(targets, 2, async (t, slot) => ({
      ...t,
      r: await gcl(dir, ['--file', t.file, '--state-dir', `.gcl-${slot}`, '--preview']),
    }));
    for (const { name, file, r } of results) {
      expect(r.code, `${file}: ${r.stderr.slice(0, 500)}`).toBe(0);
      const expanded = previewDoc(r.stdout);
      const docs = parseCiYaml(readFileSync(join(LEARN_FIXTURES, name), 'utf8'));
      const original = (docs[docs.length - 1].toJS() ?? {}) as Record<string, unknown>;
      const jobs = Object.keys(original).filter((k) => !k.startsWith('.') && !CI_KEYWORDS.has(k));
      for (const job of jobs) expect(expanded[job], `${file}: ${job}`).toBeDefined();
      expect(JSON.stringify(expanded[LEARN_JOB]?.script), file).toContain('/api/v1/pipeline/learn/record');
    }
    expect(results).toHaveLength(inline.length + viaComponent.length);
  }, 400_000);
});

describe.skipIf(!corpus)('gitlab-ci-local on the corpus after ensureLearnStage (PIPELINE_LEARNER_CORPUS)', () => {
  it('previews every file without remote includes the same as before, plus the learn job', async () => {
    const entries = corpus?.entries ?? [];
    const offline = entries.filter((e) => e.yaml_npm_parse_ok && !e.features.includes('include'));
    expect(offline.length).toBeGreaterThan(20);
    const files: Record<string, string> = {};
    for (const e of offline) {
      const text = corpus?.read(e.file) ?? '';
      files[`before/${e.file}`] = text;
      files[`after/${e.file}`] = ensureLearnStage(text, { component: null, serviceUrl: 'https://learner.example.com' });
    }
    const { dir } = await gitRepo(files);
    const results = await pool(offline, 2, async (e, slot) => {
      const args = ['--state-dir', `.gcl-${slot}`, '--preview'];
      return {
        file: e.file,
        before: await gcl(dir, ['--file', `before/${e.file}`, ...args]),
        after: await gcl(dir, ['--file', `after/${e.file}`, ...args]),
      };
    });
    let compared = 0;
    for (const { file, before, after } of results) {
      // files gitlab-ci-local itself rejects (old keywords, missing variables) only need to stay rejected
      if (before.code !== 0) continue;
      compared++;
      expect(after.code, `${file}: ${after.stderr.slice(0, 500)}`).toBe(0);
      const b = previewDoc(before.stdout);
      const a = previewDoc(after.stdout);
      for (const [key, value] of Object.entries(b))
        if (key !== 'stages') expect(a[key], `${file}: ${key}`).toEqual(value);
      expect(a[LEARN_JOB], file).toBeDefined();
    }
    expect(compared).toBeGreaterThan(offline.length / 2);
  }, 400_000);
});

describe.skipIf(skipWithoutRsync)('generated pipelines run under gitlab-ci-local (shell executor)', () => {
  const posts: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v1/pipeline/learn/record')
        posts.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"stored":true}');
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('Node, Python and Go fixtures go green, failing tests go red, and the learn job records', async () => {
    const cases = Object.entries(EXPECTED).filter(([, e]) => e.runs);
    expect(cases.map(([n]) => n).sort()).toEqual([
      'go-failing',
      'go-generic',
      'monorepo',
      'node-failing',
      'node-generic',
      'python-failing',
      'python-plain',
    ]);
    const results = await pool(cases, 2, async ([name, exp]) => {
      const g = await generatePipeline(
        { reader: fixtureReader(name), tenant: 'local' },
        { chooser: seedRuleChooser, learnStage: { component: null, serviceUrl: url } },
      );
      const { dir } = await gitRepo({ '.gitlab-ci.yml': g.config }, join(FIXTURES, name));
      // rules:changes true, as on a new branch: a monorepo part's jobs run (the clone has no changes against origin)
      const r = await gcl(dir, ['--force-shell-executor', '--evaluate-rule-changes=false', ...SKIP]);
      return { name, exp, r };
    });
    for (const { name, exp, r } of results) {
      const log = `${name}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`;
      if (exp.runs === 'green') {
        expect(r.code, log).toBe(0);
        expect(r.stdout, log).toMatch(/PASS\s+learn_record/);
        // a test job ran and passed (not only the learn job)
        expect(r.stdout, log).toMatch(/PASS\s+\S*test/);
      } else {
        expect(r.code, log).not.toBe(0);
        expect(r.stdout, log).toMatch(/FAIL\s+\S+-test/);
      }
    }
    const greens = cases.filter(([, e]) => e.runs === 'green').length;
    expect(posts).toHaveLength(greens);
    for (const p of posts) {
      expect(p.headers['job-token']).toBe('test-job-token');
      expect(Object.keys(JSON.parse(p.body)).sort()).toEqual(['pipeline_id', 'project_id']);
    }
  }, 400_000);
});
