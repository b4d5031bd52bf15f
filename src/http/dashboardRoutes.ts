import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { setCookie } from 'hono/cookie';
import {
  DASHBOARD_CSS,
  DASHBOARD_JS,
  indexPage,
  loginPage,
  missingStackPage,
  sameSiteHop,
  servicePage,
  stackPage,
} from '../dashboard/pages.js';
import type { LearningReports, ServiceReport } from '../metrics/learningReport.js';
import { DASHBOARD_COOKIE, dashboardSession, dashboardSignedIn, type ReadAuth } from './apiAuth.js';
import { safeEqual } from './verifyWebhook.js';

export interface DashboardOptions extends ReadAuth {
  reports: LearningReports;
  service: () => Promise<ServiceReport>;
  /** PUBLIC_URL: its origin is accepted on the login form, and an https one marks the cookie Secure */
  publicUrl?: string | null;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function secure(c: Context, body: string, status = 200): Response {
  return c.html(body, status as 200, {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  });
}

/** Only a same-site dashboard path is a place to go after logging in (no open redirect). */
export function safeNext(next: string | undefined | null): string {
  if (!next || !/^\/dashboard(?:[/?]|$)/.test(next) || /[\\\r\n\t]/.test(next)) return '/dashboard';
  // a path, never an absolute URL: parsing against a dummy origin must keep that origin
  try {
    const u = new URL(next, 'http://x.invalid');
    if (u.origin !== 'http://x.invalid' || !/^\/dashboard(?:\/|$)/.test(u.pathname)) return '/dashboard';
    return u.pathname + u.search;
  } catch {
    return '/dashboard';
  }
}

/** The origins a login form may be posted from: this request's own, and PUBLIC_URL's. */
function allowedOrigins(c: Context, o: DashboardOptions): Set<string> {
  const out = new Set([new URL(c.req.url).origin]);
  if (o.publicUrl) {
    try {
      out.add(new URL(o.publicUrl).origin);
    } catch {
      // config validated it already
    }
  }
  return out;
}

let assetCache: Map<string, { body: string; type: string }> | null = null;
function assets(): Map<string, { body: string; type: string }> {
  if (assetCache) return assetCache;
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve('uplot')), '');
  assetCache = new Map([
    [
      'uPlot.iife.min.js',
      { body: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
    ],
    ['uPlot.min.css', { body: readFileSync(join(dist, 'uPlot.min.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
    ['dashboard.js', { body: DASHBOARD_JS, type: 'text/javascript; charset=utf-8' }],
    ['dashboard.css', { body: DASHBOARD_CSS, type: 'text/css; charset=utf-8' }],
  ]);
  return assetCache;
}

/**
 * GET /dashboard (every stack), /dashboard/stack/:tenant/:language/:framework, /dashboard/service;
 * /dashboard/login and /logout; /dashboard/assets/* (uPlot from node_modules, no CDN). Read-only.
 * Access: PUBLIC_READ, or the API token as Bearer, as HTTP Basic password, or through the login
 * form's HttpOnly SameSite=Strict cookie.
 */
export function dashboardRoutes(o: DashboardOptions): Hono {
  const app = new Hono();
  const cookieSecure = (c: Context) =>
    new URL(c.req.url).protocol === 'https:' || (o.publicUrl ?? '').startsWith('https:');

  app.get('/dashboard/assets/:name', (c) => {
    const a = assets().get(c.req.param('name'));
    if (!a) return c.text('not found', 404);
    return c.body(a.body, 200, {
      'content-type': a.type,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    });
  });

  app.get('/dashboard/login', (c) => {
    const next = safeNext(c.req.query('next'));
    if (dashboardSignedIn(c, o)) return c.redirect(next, 303);
    return secure(c, loginPage({ next, closed: !o.apiToken }));
  });

  // a login form is a few hundred bytes
  app.use('/dashboard/login', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('form too large', 413) }));
  app.post('/dashboard/login', async (c) => {
    const origin = c.req.header('origin');
    if (!origin || !allowedOrigins(c, o).has(origin))
      return secure(c, loginPage({ next: '/dashboard', error: 'Log in from the dashboard’s own page.' }), 403);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const next = safeNext(typeof form.next === 'string' ? form.next : null);
    const token = typeof form.token === 'string' ? form.token : '';
    if (!o.apiToken) return secure(c, loginPage({ next, closed: true }), 403);
    if (!safeEqual(o.apiToken, token)) return secure(c, loginPage({ next, error: 'That is not the API token.' }), 401);
    setCookie(c, DASHBOARD_COOKIE, dashboardSession(o.apiToken), {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/dashboard',
      secure: cookieSecure(c),
      maxAge: 7 * 86_400,
    });
    return c.redirect(next, 303);
  });

  app.post('/dashboard/logout', (c) => {
    const origin = c.req.header('origin');
    if (origin && !allowedOrigins(c, o).has(origin)) return c.text('forbidden', 403);
    setCookie(c, DASHBOARD_COOKIE, '', {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/dashboard',
      secure: cookieSecure(c),
      maxAge: 0,
    });
    return c.redirect('/dashboard/login', 303);
  });

  // every page below needs a session
  app.use('/dashboard', async (c, next) => guard(c, next));
  app.use('/dashboard/stack/*', async (c, next) => guard(c, next));
  app.use('/dashboard/service', async (c, next) => guard(c, next));
  async function guard(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
    if (dashboardSignedIn(c, o)) {
      await next();
      return;
    }
    const url = new URL(c.req.url);
    const here = url.pathname + url.search;
    // a link followed from GitLab is a cross-site navigation: the Strict cookie is not sent on it.
    // One same-site hop sends it (and lands on the login when there is no session).
    if (c.req.header('sec-fetch-site') === 'cross-site' && !url.searchParams.has('hop')) {
      url.searchParams.set('hop', '1');
      return secure(c, sameSiteHop(url.pathname + url.search));
    }
    return c.redirect(`/dashboard/login?next=${encodeURIComponent(safeNext(here))}`, 303);
  }

  app.get('/dashboard', async (c) => secure(c, indexPage(await o.reports.contexts())));
  app.get('/dashboard/stack/:tenant/:language/:framework', async (c) => {
    const { tenant, language, framework } = c.req.param();
    const stack = await o.reports.stack({ tenant, language, framework });
    if (!stack) return secure(c, missingStackPage({ tenant, language, framework }), 404);
    return secure(c, stackPage(stack));
  });
  app.get('/dashboard/service', async (c) => secure(c, servicePage(await o.service())));
  return app;
}
