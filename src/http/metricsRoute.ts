import { Hono, type MiddlewareHandler } from 'hono';
import type { ServiceMetrics } from '../metrics/ServiceMetrics.js';
import { annotate, inSpan, tracingOn } from '../metrics/spans.js';
import { type ReadAuth, readAccess } from './apiAuth.js';

const GITLAB_EVENTS = new Set(
  [
    'Push',
    'Tag Push',
    'Issue',
    'Confidential Issue',
    'Note',
    'Confidential Note',
    'Merge Request',
    'Wiki Page',
    'Pipeline',
    'Job',
    'Deployment',
    'Feature Flag',
    'Release',
    'Emoji',
    'Resource Access Token',
    'Member',
    'Subgroup',
    'Project',
    'Vulnerability',
    'System',
  ].map((e) => `${e} Hook`),
);

/** Outcome of a webhook answer, by status: GitLab's view of it. */
function outcomeOf(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  if (status >= 400) return 'rejected';
  return 'accepted';
}

/** A span `webhook` around each delivery when tracing is on (the job it queues is its child). */
export const deliverySpan: MiddlewareHandler = async (c, next) => {
  if (!tracingOn()) return next();
  const header = c.req.header('x-gitlab-event') ?? '';
  await inSpan('webhook', { 'gitlab.event': GITLAB_EVENTS.has(header) ? header : 'other' }, async () => {
    await next();
    annotate({ 'http.response.status_code': c.res.status });
  });
};

/** Counts and times webhook deliveries around the intake route, without touching it. */
export function deliveryMetrics(metrics: ServiceMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    await next();
    const outcome = outcomeOf(c.res.status);
    // anything but GitLab's own event names is folded, so a forged header cannot grow the label set
    const header = c.req.header('x-gitlab-event') ?? '';
    const event = GITLAB_EVENTS.has(header) ? header : 'other';
    metrics.deliveries.inc({ event, outcome });
    metrics.ackSeconds.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  };
}

/**
 * GET /metrics in Prometheus text format. `open`: no auth (the separate loopback listener);
 * otherwise protected like the read API.
 */
export function metricsRoute(metrics: ServiceMetrics, auth: { open: true } | ({ open: false } & ReadAuth)): Hono {
  const app = new Hono();
  if (!auth.open) app.use('/metrics', readAccess(auth));
  app.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.text();
    return c.body(body, 200, { 'content-type': contentType });
  });
  return app;
}
