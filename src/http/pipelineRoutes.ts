import { Hono } from 'hono';
import { z } from 'zod';
import { projectFromInput, type RestCommitInput, type RestStatusInput } from '../commands/restOperations.js';
import { UserFacingError } from '../errors.js';
import { jsonBody, writeAccess } from './apiAuth.js';

export interface GenerateRequest {
  project: number | string;
  /** null: the project's default branch */
  ref: string | null;
  language?: string;
  framework?: string;
  policy?: string;
  /** ask the local LLM even when a proven configuration exists */
  llm?: boolean;
}

export interface PipelineRouteOptions {
  apiToken: string | null;
  /** null when GitLab is not configured: these operations then answer 503 */
  operations: {
    generate(input: GenerateRequest): Promise<unknown>;
    commit(input: RestCommitInput): Promise<unknown>;
    status(input: RestStatusInput): Promise<unknown>;
  } | null;
}

const project = z.union([z.number().int().positive(), z.string().min(1)]);
const generateBody = z
  .object({
    project: project.optional(),
    repo_url: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
    branch: z.string().min(1).optional(),
    language: z.string().min(1).optional(),
    framework: z.string().min(1).optional(),
    policy: z.string().min(1).optional(),
    llm: z.boolean().optional(),
  })
  .refine((b) => b.project !== undefined || b.repo_url !== undefined, 'give project (id or path) or repo_url');
const commitBody = z
  .object({
    project: project.optional(),
    repo_url: z.string().min(1).optional(),
    merge_request_iid: z.number().int().positive(),
    proposal: z.number().int().positive().optional(),
    force: z.boolean().optional(),
    approved_by: z.string().min(1).max(100).optional(),
  })
  .refine((b) => b.project !== undefined || b.repo_url !== undefined, 'give project (id or path) or repo_url');
const statusBody = z
  .object({
    project: project.optional(),
    repo_url: z.string().min(1).optional(),
    merge_request_iid: z.number().int().positive().optional(),
    branch: z.string().min(1).optional(),
  })
  .refine((b) => b.project !== undefined || b.repo_url !== undefined, 'give project (id or path) or repo_url')
  .refine((b) => b.merge_request_iid !== undefined || b.branch !== undefined, 'give merge_request_iid or branch');

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new UserFacingError(`invalid body: ${why.join('; ')}`, { status: 400 });
  }
  return parsed.data;
}

/**
 * Seed 003's pipeline operations over REST (the same as the comment verbs): generate a proposal for a
 * project, commit a merge request's proposal, report a pipeline's status. Always behind the API token.
 */
export function pipelineRoutes(o: PipelineRouteOptions): Hono {
  const app = new Hono();
  const operations = () => {
    if (!o.operations) {
      throw new UserFacingError('GitLab is not configured on the service (GITLAB_URL, GITLAB_TOKEN)', { status: 503 });
    }
    return o.operations;
  };

  const write = writeAccess(o.apiToken);
  app.post('/api/v1/pipeline/generate', write, async (c) => {
    const b = parse(generateBody, await jsonBody(c, '{"project": "group/app", "ref": "main"}'));
    const result = await operations().generate({
      project: projectFromInput(b),
      ref: b.ref ?? b.branch ?? null,
      language: b.language,
      framework: b.framework,
      policy: b.policy,
      ...(b.llm ? { llm: true } : {}),
    });
    return c.json(result);
  });

  app.post('/api/v1/pipeline/commit', write, async (c) => {
    const b = parse(commitBody, await jsonBody(c, '{"project": "group/app", "merge_request_iid": 7}'));
    return c.json({ success: true, ...((await operations().commit(b)) as object) });
  });

  app.post('/api/v1/pipeline/status', write, async (c) => {
    const b = parse(statusBody, await jsonBody(c, '{"project": "group/app", "merge_request_iid": 7}'));
    return c.json({ success: true, ...((await operations().status(b)) as object) });
  });

  return app;
}
