import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { type SuccessfulConfiguration, successfulConfigurations } from '../db/runs.js';
import { UserFacingError } from '../errors.js';
import type { ProjectRef } from '../gitlab/GitLab.js';
import { projectPathFromRepoUrl } from '../gitlab/repoUrl.js';
import { jobToken, jobTokenOrApiToken, jsonBody, readAccess } from './apiAuth.js';

/** What POST /learn/record asks of the application (implemented by jobs/handlers/learnRecord). */
export interface LearnRecordRequest {
  project: ProjectRef;
  pipelineId: number;
  /** the seed's `branch`: when given, the pipeline must have run on it */
  branch: string | null;
  /** CI_JOB_TOKEN of the calling job; null when the caller used the API token */
  jobToken: string | null;
}

export interface LearnRecordResult {
  success: true;
  message: string;
  pipeline_id: number;
  status: string;
  stored: boolean;
  config_hash: string | null;
}

export interface LearnRouteOptions {
  db: Db;
  apiToken: string | null;
  publicRead: boolean;
  gitlabUrl: string | null;
  /** null when GitLab is not configured: recording then answers 503 */
  record: ((req: LearnRecordRequest) => Promise<LearnRecordResult>) | null;
  /** the learner's view of each stack's configurations (one call for all); without it the seed's rule ranks them */
  rank?: (contexts: Array<{ tenant: string | null; language: string; framework: string }>) => Promise<ArmRank[][]>;
}

export interface ArmRank {
  hash: string;
  mean: number;
  low: number;
  high: number;
  runs: number;
  expectedReward: number;
  broken: boolean;
  banned: boolean;
}

type Ranked = SuccessfulConfiguration & { rank: ArmRank | null };

/**
 * Orders successful configurations the way the learner would propose them: banned ones are left
 * out, broken ones go last, the rest by expected reward. Without a learner: the seed's rule (most
 * stages passed, then the shortest duration).
 */
async function ranked(
  rows: SuccessfulConfiguration[],
  tenant: string | undefined,
  rank: LearnRouteOptions['rank'],
): Promise<Ranked[]> {
  const seedRule = (a: SuccessfulConfiguration, b: SuccessfulConfiguration) =>
    b.stagesCount - a.stagesCount || (a.durationS ?? 9999) - (b.durationS ?? 9999);
  if (!rank) return rows.map((r) => ({ ...r, rank: null })).sort(seedRule);
  const stacks = [...new Set(rows.map((r) => `${r.language}\u0000${r.framework}`))];
  const byKey = new Map<string, ArmRank>();
  // one learner call for every stack (an unfiltered list spans many)
  const ranks = await rank(
    stacks.map((stack) => {
      const [language, framework] = stack.split('\u0000') as [string, string];
      return { tenant: tenant ?? null, language, framework };
    }),
  );
  for (const [i, stack] of stacks.entries()) {
    for (const a of ranks[i]!) byKey.set(`${stack}\u0000${a.hash}`, a);
  }
  return rows
    .map((r) => ({ ...r, rank: byKey.get(`${r.language}\u0000${r.framework}\u0000${r.hash}`) ?? null }))
    .filter((r) => !r.rank?.banned)
    .sort(
      (a, b) =>
        Number(a.rank?.broken ?? false) - Number(b.rank?.broken ?? false) ||
        (b.rank?.expectedReward ?? -1) - (a.rank?.expectedReward ?? -1) ||
        seedRule(a, b),
    );
}

function confidence(r: Ranked) {
  return r.rank
    ? { mean: r.rank.mean, low: r.rank.low, high: r.rank.high, runs: r.rank.runs, broken: r.rank.broken }
    : null;
}

/** Query parameters are case-insensitive, names and values alike. */
function param(c: Context, name: string): string | undefined {
  const all = c.req.queries();
  const key = Object.keys(all).find((k) => k.toLowerCase() === name);
  const v = key ? all[key]?.[0]?.trim() : undefined;
  return v ? v.toLowerCase() : undefined;
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

  const read = readAccess(o);
  app.post('/api/v1/pipeline/learn/record', jobTokenOrApiToken(o.apiToken), async (c) => {
    const raw = await jsonBody(c, '{"project_id": …, "pipeline_id": …}');
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
    const result = await o.record({
      project,
      pipelineId: b.pipeline_id,
      branch: b.branch ?? null,
      jobToken: jobToken(c),
    });
    return c.json(result);
  });

  app.get('/api/v1/pipeline/learn/successful', read, async (c) => {
    const language = param(c, 'language');
    const framework = param(c, 'framework');
    const tenant = param(c, 'tenant');
    const limitRaw = param(c, 'limit');
    const limit = limitRaw === undefined ? 10 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new UserFacingError('limit must be a whole number from 1 to 100', { status: 400 });
    }
    const offsetRaw = param(c, 'offset');
    const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
    if (!Number.isInteger(offset) || offset < 0 || offset > 99) {
      throw new UserFacingError('offset must be a whole number from 0 to 99', { status: 400 });
    }
    // the 100 most recent successful configurations, ranked; `offset` and `limit` page through them
    const rows = await ranked(await successfulConfigurations(o.db, { language, framework, tenant }), tenant, o.rank);
    const pipelines = rows.slice(offset, offset + limit).map((r) => ({
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
      confidence: confidence(r),
    }));
    return c.json({
      success: true,
      language: language ?? null,
      framework: framework ?? null,
      pipelines,
      count: pipelines.length,
    });
  });

  app.get('/api/v1/pipeline/learn/best', read, async (c) => {
    const language = param(c, 'language');
    const framework = param(c, 'framework');
    const tenant = param(c, 'tenant');
    if (!language) throw new UserFacingError('language is required, e.g. ?language=go&framework=gin', { status: 400 });
    const best = (
      await ranked(await successfulConfigurations(o.db, { language, framework, tenant }), tenant, o.rank)
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
      confidence: confidence(best),
    });
  });

  return app;
}
