import { Hono } from 'hono';
import { UserFacingError } from '../errors.js';
import type { LearningReports } from '../metrics/learningReport.js';
import { type ReadAuth, readAccess } from './apiAuth.js';

/**
 * The learning report as JSON (read auth): `GET /api/v1/report/contexts[?tenant=]` and
 * `GET /api/v1/report/stack?tenant=&language=&framework=`. `pipeline-learner report` reads these
 * when `serve` holds the embedded store; the dashboard renders the same data.
 */
export function reportRoutes(reports: LearningReports, auth: ReadAuth): Hono {
  const app = new Hono();
  app.use('/api/v1/report/*', readAccess(auth));
  app.get('/api/v1/report/contexts', async (c) => {
    return c.json({ contexts: await reports.contexts({ tenant: c.req.query('tenant') || undefined }) });
  });
  app.get('/api/v1/report/stack', async (c) => {
    const [tenant, language, framework] = ['tenant', 'language', 'framework'].map((k) => c.req.query(k)?.trim());
    if (!tenant || !language || !framework)
      throw new UserFacingError(
        'give tenant, language and framework, e.g. ?tenant=acme&language=node&framework=express',
      );
    const stack = await reports.stack({ tenant, language, framework });
    if (!stack) throw new UserFacingError(`no learning context ${tenant}/${language}/${framework}`, { status: 404 });
    return c.json(stack);
  });
  return app;
}
