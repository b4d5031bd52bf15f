#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
// `npm run screenshots`: the dashboard's pages, rendered in headless Chromium from a seeded
// embedded store, written to docs/screenshots/*.png (the README shows them).
// Needs Debian's `chromium` (or CHROMIUM_PATH) and the build (npm run build, done by the npm script).
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { loadConfig } = await dist('config.js');
const { migrateToLatest, openPGlite } = await dist('db/openDatabase.js');
const { createLearningStore } = await dist('db/learningStore.js');
const { Learner } = await dist('learning/Learner.js');
const { createRng } = await dist('learning/Rng.js');
const { createLogger } = await dist('log.js');
const { startOnStore } = await dist('main.js');

const executablePath =
  process.env.CHROMIUM_PATH || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!executablePath) {
  console.error('no chromium: apt-get install chromium, or set CHROMIUM_PATH');
  process.exit(1);
}
const out = join(root, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const TOKEN = 'screenshots-token';
const SECRET = 'screenshots-secret';

const store = await openPGlite('memory://');
await migrateToLatest(store.db);
const learner = new Learner({ store: createLearningStore(store.db), rng: createRng(11) });
const hash = (s) => s.repeat(64 / s.length);
const arms = [
  { hash: hash('3f9a'), source: 'learned', p: 0.93, d: 240 },
  { hash: hash('71c2'), source: 'template', p: 0.8, d: 180 },
  { hash: hash('a05e'), source: 'llm', p: 0.45, d: 150 },
  { hash: hash('d4d4'), source: 'default', p: 0.6, d: 300 },
];
const stacks = [
  ['acme', 'node', 'express', 160],
  ['acme', 'python', 'django', 90],
  ['acme', 'go', 'gin', 45],
  ['umbrella', 'java', 'spring', 70],
  ['umbrella', 'rust', 'generic', 25],
];
let pipelineId = 1000;
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const now = Date.now();
for (const [tenant, language, framework, n] of stacks) {
  const context = { tenant, language, framework };
  const cands = arms.map((a) => ({ hash: a.hash, source: a.source, config: `# ${a.hash}\n`, label: a.source }));
  for (let i = 0; i < n; i++) {
    const choice = await learner.choose(context, cands);
    const arm = arms.find((a) => a.hash === choice.arm.hash) ?? arms[0];
    const ok = rand() < arm.p;
    await learner.observeRun({
      ...context,
      projectPath: `${tenant}/app${i % 4}`,
      pipelineId: ++pipelineId,
      configHash: arm.hash,
      status: ok ? 'success' : 'failed',
      durationS: Math.round(arm.d * (0.8 + rand() * 0.4)),
      stagesCount: 4,
      failedJobs: ok ? [] : [{ name: 'test', stage: 'test', failure_reason: 'script_failure', allow_failure: false }],
      at: new Date(now - (n - i) * ((28 * 86_400_000) / n)),
    });
    if (choice.decisionId) await learner.attachReward(choice.decisionId, pipelineId).catch(() => {});
  }
}

const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  RECONCILE_INTERVAL_S: '0',
  GITLAB_WEBHOOK_SECRET: SECRET,
  API_TOKEN: TOKEN,
  DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-screenshots-')),
  LOG_LEVEL: 'silent',
});
const service = await startOnStore(config, store, { log: createLogger({ level: 'silent' }), gitlab: null });
const base = `http://127.0.0.1:${service.port}`;
// some webhook traffic for the service page (no GitLab configured: the jobs stay queued)
const payload = readFileSync(join(root, 'test/fakes/payloads/pipeline_success.json'), 'utf8');
for (let i = 0; i < 40; i++) {
  await fetch(`${base}/webhooks/gitlab`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-token': i % 10 === 9 ? 'wrong' : SECRET,
      'x-gitlab-event-uuid': randomUUID(),
    },
    body: payload,
  });
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/dashboard`);
  await page.screenshot({ path: join(out, 'login.png') });
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  await page.screenshot({ path: join(out, 'index.png'), fullPage: true });
  await page.goto(`${base}/dashboard/stack/acme/node/express`);
  await page.waitForSelector('#plot-success canvas');
  await page.screenshot({ path: join(out, 'stack.png'), fullPage: true });
  await page.goto(`${base}/dashboard/service`);
  await page.waitForSelector('#plot-intake canvas');
  await page.screenshot({ path: join(out, 'service.png'), fullPage: true });
  console.log(`screenshots written to ${out}: login.png index.png stack.png service.png`);
} finally {
  await browser.close();
  await service.stop();
}
