import { Hono } from 'hono';
import { UserFacingError } from '../errors.js';
import type { Logger } from '../log.js';
import { healthRoutes } from './healthRoutes.js';
import { type LearnRouteOptions, learnRoutes } from './learnRoutes.js';
import { type WebhookOptions, webhookRoute } from './webhookRoute.js';

export interface AppOptions {
  log: Logger;
  webhook: WebhookOptions;
  learn: LearnRouteOptions;
  ready: () => Promise<boolean>;
  /** further routes (generation, commands) mounted by their owners */
  extra?: Hono[];
}

/** The whole HTTP surface; tests call `app.request()` without a server. */
export function createApp(o: AppOptions): Hono {
  const app = new Hono();
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
