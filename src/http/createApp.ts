import { type Context, Hono } from 'hono';
import { UserFacingError } from '../errors.js';
import { GitLabError } from '../gitlab/GitLab.js';
import type { Logger } from '../log.js';
import type { ServiceMetrics } from '../metrics/ServiceMetrics.js';
import { refuseTokenKeys } from './apiAuth.js';
import { healthRoutes } from './healthRoutes.js';
import { type LearnRouteOptions, learnRoutes } from './learnRoutes.js';
import { deliveryMetrics, deliverySpan, metricsRoute } from './metricsRoute.js';
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

/**
 * What a caller is told when GitLab answered a call made on its behalf: a missing project or pipeline
 * is the caller's 404; a token GitLab refuses is the operator's problem (502, saying so); a rate limit
 * is a 503 with GitLab's wait; only an unreachable or failing GitLab is "try again".
 */
function gitlabFailure(err: GitLabError, c: Context, log: Logger): Response {
  const detail = err.message.replace(/^GitLab /, '');
  if (err.status === 404) {
    return c.json(
      {
        success: false,
        error: `not found on GitLab: no such project, merge request or pipeline, or the service's token cannot see it (${detail})`,
      },
      404,
    );
  }
  log.warn({ err, path: c.req.path }, 'GitLab call failed');
  if (err.status === 429) {
    const waitS = Math.max(1, Math.ceil((err.retryAfterMs ?? 60_000) / 1000));
    c.header('retry-after', String(waitS));
    return c.json({ success: false, error: `GitLab is rate-limiting the service; try again in ${waitS} s` }, 503);
  }
  if (err.status === 401 || err.status === 403) {
    return c.json(
      {
        success: false,
        error: `GitLab refused the service's token (${err.status}); the operator must check GITLAB_TOKEN and the bot user's role`,
      },
      502,
    );
  }
  if (err.retry === 'never') return c.json({ success: false, error: `GitLab refused the request: ${detail}` }, 502);
  return c.json({ success: false, error: 'GitLab could not be reached or failed; try again' }, 502);
}

/**
 * The one mapping of error types to answers (first match wins); anything else is a logged 500.
 * Routes and middleware throw, they do not build error responses.
 */
const ERROR_RESPONSES: ReadonlyArray<
  readonly [abstract new (...args: never[]) => Error, (err: never, c: Context, log: Logger) => Response]
> = [
  [UserFacingError, (err: UserFacingError, c) => c.json({ success: false, error: err.message }, err.status as 400)],
  [GitLabError, gitlabFailure],
];

/** The whole HTTP surface; tests call `app.request()` without a server. */
export function createApp(o: AppOptions): Hono {
  const app = new Hono();
  app.use('/api/v1/*', refuseTokenKeys);
  app.use('/webhooks/gitlab', deliverySpan);
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
    for (const [type, respond] of ERROR_RESPONSES) if (err instanceof type) return respond(err as never, c, o.log);
    o.log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ success: false, error: 'internal error' }, 500);
  });
  return app;
}
