/**
 * The dashboard through the real composition root on a seeded store: access (token login with an
 * HttpOnly SameSite=Strict cookie, HTTP Basic, Bearer, PUBLIC_READ), no open redirect, the CSP, and
 * — in headless Chromium (Debian's `chromium`, driven by playwright-core) — pages that render with
 * plots that have points and no console errors. Screenshots go to .test-output/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/db/openDatabase.js';
import { DASHBOARD_COOKIE, dashboardSession } from '../../src/http/apiAuth.js';
import { safeNext } from '../../src/http/dashboardRoutes.js';
import { createLogger } from '../../src/log.js';
import { type Service, startOnStore } from '../../src/main.js';
import { openTestStore } from '../support/db.js';
import { BAD, GOOD, seedLearning } from '../support/seedLearning.js';

const API_TOKEN = 'dashboard-api-token';
const CONTEXTS = [
  { tenant: 'acme', language: 'node', framework: 'express' },
  { tenant: 'acme', language: 'python', framework: 'django' },
  { tenant: 'umbrella', language: 'go', framework: 'gin' },
];

async function startService(store: Store, env: Record<string, string> = {}): Promise<Service> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    RECONCILE_INTERVAL_S: '0',
    GITLAB_WEBHOOK_SECRET: 'dashboard-secret',
    API_TOKEN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-dashboard-')),
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startOnStore(config, store, { log: createLogger({ level: 'silent' }), gitlab: null });
}

describe('/dashboard over HTTP', () => {
  let store: Store | null;
  let service: Service;
  beforeAll(async () => {
    store = await openTestStore('pglite');
    await seedLearning(store!.db, CONTEXTS);
    service = await startService(store!);
  });
  afterAll(async () => {
    await service?.stop();
  });
  const get = (path: string, headers: Record<string, string> = {}) => service.app.request(path, { headers });

  it('sends a visitor without a session to the login, keeping where they wanted to go', async () => {
    for (const path of ['/dashboard', '/dashboard/service', '/dashboard/stack/acme/node/express']) {
      const res = await get(path);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/dashboard/login?next=${encodeURIComponent(path)}`);
    }
    // a wrong cookie, a wrong bearer, a wrong Basic password: still the login
    expect((await get('/dashboard', { cookie: `${DASHBOARD_COOKIE}=forged` })).status).toBe(303);
    expect((await get('/dashboard', { authorization: 'Bearer nope' })).status).toBe(303);
    const wrongBasic = `Basic ${Buffer.from('me:nope').toString('base64')}`;
    expect((await get('/dashboard', { authorization: wrongBasic })).status).toBe(303);
  });

  it('lets the API token in as Bearer, as an HTTP Basic password, or as the login cookie', async () => {
    expect((await get('/dashboard', { authorization: `Bearer ${API_TOKEN}` })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`anyone:${API_TOKEN}`).toString('base64')}`;
    expect((await get('/dashboard', { authorization: basic })).status).toBe(200);
    const ok = await get('/dashboard', { cookie: `${DASHBOARD_COOKIE}=${dashboardSession(API_TOKEN)}` });
    expect(ok.status).toBe(200);
    const html = await ok.text();
    expect(html).toContain('/dashboard/stack/acme/node/express');
    expect(html).toContain(GOOD.slice(0, 12));
    expect(ok.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(ok.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
  });

  it('logs in only from its own origin, with the token, and sets an HttpOnly SameSite=Strict cookie', async () => {
    const post = (body: Record<string, string>, origin?: string) =>
      service.app.request('http://localhost/dashboard/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
        body: new URLSearchParams(body).toString(),
      });
    expect((await post({ token: API_TOKEN, next: '/dashboard' })).status).toBe(403);
    expect((await post({ token: API_TOKEN, next: '/dashboard' }, 'https://evil.example')).status).toBe(403);
    const wrong = await post({ token: 'nope', next: '/dashboard' }, 'http://localhost');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const res = await post({ token: API_TOKEN, next: '/dashboard/service' }, 'http://localhost');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/service');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain(`${DASHBOARD_COOKIE}=${dashboardSession(API_TOKEN)}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(API_TOKEN);
    const evil = await post({ token: API_TOKEN, next: 'https://evil.example/x' }, 'http://localhost');
    expect(evil.headers.get('location')).toBe('/dashboard');
    expect((await post({ token: 'x'.repeat(20_000), next: '/dashboard' }, 'http://localhost')).status).toBe(413);
  });

  it('never redirects off the site', () => {
    for (const bad of [
      '//evil.example',
      'https://evil.example',
      '/dashboard/../../x',
      '/\\evil.example',
      '/dashboardx',
    ]) {
      const next = safeNext(bad);
      expect(next.startsWith('/dashboard')).toBe(true);
      expect(next.startsWith('//')).toBe(false);
    }
    expect(safeNext('/dashboard/stack/acme/go/gin?x=1')).toBe('/dashboard/stack/acme/go/gin?x=1');
  });

  it('hops once from a cross-site link so the Strict cookie is sent', async () => {
    const res = await get('/dashboard/stack/acme/node/express', { 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('url=/dashboard/stack/acme/node/express?hop=1');
    expect((await get('/dashboard/stack/acme/node/express?hop=1', { 'sec-fetch-site': 'cross-site' })).status).toBe(
      303,
    );
  });

  it('escapes what it shows and answers 404 for an unknown stack', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const res = await get(`/dashboard/stack/${encodeURIComponent('<script>x</script>')}/go/gin`, auth);
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&lt;script&gt;');
  });

  it('shows a stack: arms with intervals, attribution, and the decision log with probabilities', async () => {
    const res = await get('/dashboard/stack/ACME/node/express', { authorization: `Bearer ${API_TOKEN}` });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.indexOf(GOOD.slice(0, 12))).toBeLessThan(html.indexOf(BAD.slice(0, 12)));
    expect(html).toContain('id="pl-plots"');
    expect(html).toMatch(/broken \d+/);
    expect(html).toMatch(/Decision log/);
    expect(html).toMatch(/\d+\.\d %/);
  });

  it('serves uPlot and its own script from the package, not a CDN', async () => {
    const js = await get('/dashboard/assets/uPlot.iife.min.js');
    expect(js.status).toBe(200);
    expect(await js.text()).toContain('uPlot');
    expect((await get('/dashboard/assets/dashboard.js')).status).toBe(200);
    expect((await get('/dashboard/assets/..%2Fpackage.json')).status).toBe(404);
    const html = await (await get('/dashboard', { authorization: `Bearer ${API_TOKEN}` })).text();
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe('/dashboard with PUBLIC_READ', () => {
  it('opens the pages without a session', async () => {
    const store = await openTestStore('pglite');
    const s = await startService(store!, { PUBLIC_READ: 'true' });
    try {
      expect((await s.app.request('/dashboard')).status).toBe(200);
      expect((await s.app.request('/dashboard/service')).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});

const CHROMIUM = process.env.CHROMIUM_PATH || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
if (!CHROMIUM) {
  if (process.env.CI === 'true') throw new Error('Chromium is required under CI=true (apt-get install chromium)');
  console.warn('\n!!! dashboard browser tests SKIPPED: no chromium (apt-get install chromium, or set CHROMIUM_PATH)\n');
}

describe.skipIf(!CHROMIUM)('/dashboard in headless Chromium', () => {
  let store: Store | null;
  let service: Service;
  // biome-ignore lint/suspicious/noExplicitAny: playwright-core's types are loaded lazily
  let browser: any;
  const shots = join(process.cwd(), '.test-output', 'screenshots');

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    store = await openTestStore('pglite');
    await seedLearning(store!.db, CONTEXTS);
    service = await startService(store!);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('logs in with the token, renders every page with plotted points, and logs no errors', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m: { type(): string; text(): string }) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e: Error) => problems.push(e.message));

    // no session: the stack link lands on the login, which returns there afterwards
    await page.goto(`${base}/dashboard/stack/acme/node/express`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.fill('input[name=token]', 'wrong-token');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('not the API token');
    // the refused login is a 401 the browser reports; nothing else may be
    expect(problems.splice(0).every((p) => /401/.test(p))).toBe(true);
    await page.fill('input[name=token]', API_TOKEN);
    await Promise.all([
      page.waitForURL(`${base}/dashboard/stack/acme/node/express`),
      page.click('button[type=submit]'),
    ]);
    const cookies = await page.context().cookies();
    const session = cookies.find((c: { name: string }) => c.name === DASHBOARD_COOKIE);
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain(DASHBOARD_COOKIE);

    await page.waitForSelector('#plot-success canvas');
    for (const id of ['plot-success', 'plot-duration']) {
      const points = Number(await page.getAttribute(`#${id}`, 'data-points'));
      expect(points).toBeGreaterThan(0);
    }
    expect(await page.locator('table.decisions tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'stack.png'), fullPage: true });

    await page.goto(`${base}/dashboard`);
    expect(await page.locator('table.stacks tbody tr').count()).toBe(3);
    expect(await page.locator('svg.spark circle').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'index.png'), fullPage: true });

    await page.goto(`${base}/dashboard/service`);
    await page.waitForSelector('#plot-intake canvas');
    await page.screenshot({ path: join(shots, 'service.png'), fullPage: true });

    // logging out ends the session
    await Promise.all([page.waitForURL(/\/dashboard\/login/), page.click('form.logout button')]);
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');

    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});
