import { Hono } from 'hono';
import { UserFacingError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServiceMetrics } from '../metrics/ServiceMetrics.js';
import { healthRoutes } from './healthRoutes.js';
import { type LearnRouteOptions, learnRoutes } from './learnRoutes.js';
import { deliveryMetrics, metricsRoute } from './metricsRoute.js';
import { type WebhookOptions, webhookRoute } from './webhookRoute.js';

export interface AppOptions {
  log: Logger;
  webhook: WebhookOptions;
  learn: LearnRouteOptions;
  ready: () => Promise<boolean>;
  /** further routes (generation, commands) mounted by their owners */
  extra?: Hono[];
  /** counts and times webhook deliveries; `route` serves /metrics on this app (else a separate port does) */
  metrics?: { metrics: ServiceMetrics; route: boolean };
}

/** The whole HTTP surface; tests call `app.request()` without a server. */
export function createApp(o: AppOptions): Hono {
  const app = new Hono();
  if (o.metrics) {
    app.use('/webhooks/gitlab', deliveryMetrics(o.metrics.metrics));
    if (o.metrics.route)
      app.route(
        '/',
        metricsRoute(o.metrics.metrics, { open: false, apiToken: o.learn.apiToken, publicRead: o.learn.publicRead }),
      );
  }
  app.route('/', healthRoutes({ ready: o.ready }));
  app.route('/', webhookRoute(o.webhook));
  app.route('/', learnRoutes(o.learn));
  for (const extra of o.extra ?? []) app.route('/', extra);
  app.notFound((c) => c.json({ success: false, error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof UserFacingError) {
      return c.json({ success: false, error: err.message }, err.status as 400);
    }
    o.log.error({ err, path: c.req.path }, 'request failed');
    const status = (err as { status?: unknown }).status;
    if (err.name === 'GitLabError') {
      return c.json({ success: false, error: 'GitLab could not be reached or refused the request; try again' }, 502);
    }
    return c.json({ success: false, error: 'internal error' }, typeof status === 'number' && status >= 500 ? 500 : 500);
  });
  return app;
}
