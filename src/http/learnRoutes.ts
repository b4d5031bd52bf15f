import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { successfulConfigurations } from '../db/runs.js';
import { UserFacingError } from '../errors.js';
import type { LearnRecordRequest, LearnRecordResult } from '../handlers/learnRecord.js';
import { projectPathFromRepoUrl } from '../handlers/learnRecord.js';
import { safeEqual } from './verifyWebhook.js';

export interface LearnRouteOptions {
  db: Db;
  apiToken: string | null;
  publicRead: boolean;
  gitlabUrl: string | null;
  /** null when GitLab is not configured: recording then answers 503 */
  record: ((req: LearnRecordRequest) => Promise<LearnRecordResult>) | null;
}

/** Query parameters are case-insensitive, names and values alike. */
function param(c: Context, name: string): string | undefined {
  const all = c.req.queries();
  const key = Object.keys(all).find((k) => k.toLowerCase() === name);
  const v = key ? all[key]?.[0]?.trim() : undefined;
  return v ? v.toLowerCase() : undefined;
}

function bearer(c: Context): string | null {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1]!.trim() : null;
}

function hasApiToken(c: Context, apiToken: string | null): boolean {
  const offered = bearer(c);
  return apiToken !== null && offered !== null && safeEqual(apiToken, offered);
}

function requireRead(c: Context, o: LearnRouteOptions): void {
  if (o.publicRead || hasApiToken(c, o.apiToken)) return;
  throw new UserFacingError(
    o.apiToken
      ? 'learned configurations need Authorization: Bearer <API_TOKEN> (or PUBLIC_READ=true on the service)'
      : 'reads are closed: set API_TOKEN (and send it as a Bearer token) or PUBLIC_READ=true on the service',
    { status: 401 },
  );
}

const recordBody = z
  .object({
    project_id: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
    repo_url: z.string().min(1).optional(),
    branch: z.string().min(1).optional(),
    pipeline_id: z.coerce.number().int().positive(),
  })
  .refine((b) => b.project_id !== undefined || b.repo_url !== undefined, 'give project_id or repo_url');

/** The seed's learning-store API: record a pipeline, list successful ones, the best one. */
export function learnRoutes(o: LearnRouteOptions): Hono {
  const app = new Hono();

  app.post('/api/v1/pipeline/learn/record', async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new UserFacingError('body must be JSON: {"project_id": …, "pipeline_id": …}', { status: 400 });
    }
    if (raw && typeof raw === 'object' && 'gitlab_token' in raw) {
      throw new UserFacingError(
        'gitlab_token is not accepted: tokens in request bodies end up in logs and job traces. The service uses its own GITLAB_TOKEN; authenticate this call with the header JOB-TOKEN: $CI_JOB_TOKEN (or Authorization: Bearer <API_TOKEN>).',
        { status: 400 },
      );
    }
    const jobToken = c.req.header('job-token')?.trim() || null;
    if (!jobToken && !hasApiToken(c, o.apiToken)) {
      throw new UserFacingError(
        'send JOB-TOKEN: $CI_JOB_TOKEN from the pipeline, or Authorization: Bearer <API_TOKEN>',
        {
          status: 401,
        },
      );
    }
    const parsed = recordBody.safeParse(raw);
    if (!parsed.success) {
      throw new UserFacingError(`invalid body: ${parsed.error.issues.map((i) => i.message).join('; ')}`, {
        status: 400,
      });
    }
    if (!o.record) {
      throw new UserFacingError('GitLab is not configured on the service (GITLAB_URL, GITLAB_TOKEN)', { status: 503 });
    }
    const b = parsed.data;
    const project =
      b.project_id !== undefined
        ? typeof b.project_id === 'string' && /^\d+$/.test(b.project_id)
          ? Number(b.project_id)
          : b.project_id
        : projectPathFromRepoUrl(b.repo_url!, o.gitlabUrl);
    const result = await o.record({ project, pipelineId: b.pipeline_id, branch: b.branch ?? null, jobToken });
    return c.json(result);
  });

  app.get('/api/v1/pipeline/learn/successful', async (c) => {
    requireRead(c, o);
    const language = param(c, 'language');
    const framework = param(c, 'framework');
    const tenant = param(c, 'tenant');
    const limitRaw = param(c, 'limit');
    const limit = limitRaw === undefined ? 10 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new UserFacingError('limit must be a whole number from 1 to 100', { status: 400 });
    }
    const rows = await successfulConfigurations(o.db, { language, framework, tenant, limit });
    const pipelines = rows.map((r) => ({
      id: `success_${r.language}_${r.framework}_${r.hash.slice(0, 12)}`,
      language: r.language,
      framework: r.framework,
      pipeline_id: String(r.pipelineId),
      duration: r.durationS === null ? null : Math.round(r.durationS),
      stages_count: r.stagesCount,
      timestamp: (r.finishedAt ?? r.recordedAt).toISOString(),
      tenant: r.tenant,
      project: r.projectPath,
      config_hash: r.hash.slice(0, 12),
      run_count: r.runCount,
    }));
    return c.json({
      success: true,
      language: language ?? null,
      framework: framework ?? null,
      pipelines,
      count: pipelines.length,
    });
  });

  app.get('/api/v1/pipeline/learn/best', async (c) => {
    requireRead(c, o);
    const language = param(c, 'language');
    const framework = param(c, 'framework');
    const tenant = param(c, 'tenant');
    if (!language) throw new UserFacingError('language is required, e.g. ?language=go&framework=gin', { status: 400 });
    const rows = await successfulConfigurations(o.db, { language, framework, tenant, limit: 100 });
    // the seed's rule: most stages passed, then the shortest duration
    const best = [...rows].sort(
      (a, b) => b.stagesCount - a.stagesCount || (a.durationS ?? 9999) - (b.durationS ?? 9999),
    )[0];
    if (!best) {
      return c.json(
        {
          success: false,
          language,
          framework: framework ?? null,
          config: null,
          message: `no successful pipeline learned yet for ${language}${framework ? `/${framework}` : ''}`,
        },
        404,
      );
    }
    return c.json({
      success: true,
      language,
      framework: framework ?? best.framework,
      config: best.content,
      source: 'reinforcement_learning',
      config_hash: best.hash.slice(0, 12),
      pipeline_id: String(best.pipelineId),
      project: best.projectPath,
      tenant: best.tenant,
      dockerfile: best.dockerfile,
    });
  });

  return app;
}
