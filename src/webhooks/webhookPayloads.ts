import { z } from 'zod';

/*
 * GitLab webhook payloads, parsed leniently: unknown fields pass through (GitLab adds fields every
 * release), optional ones tolerate null or absence, lists default to []. Only what the service reads
 * is typed. Shapes: ../shared/reference/gitlab.md §2 and the recorded payloads beside it.
 */

const str = z.string();
const optStr = z.string().nullish();
const optNum = z.number().nullish();
const optBool = z.boolean().nullish();
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

export const webhookUserSchema = z.looseObject({
  id: z.number(),
  name: optStr,
  username: str,
  email: optStr,
});

export const webhookProjectSchema = z.looseObject({
  id: z.number(),
  name: optStr,
  path_with_namespace: str,
  web_url: optStr,
  namespace: optStr,
  default_branch: optStr,
  /** "" and null both mean `.gitlab-ci.yml` */
  ci_config_path: optStr,
});

const lastCommitSchema = z.looseObject({
  id: str,
  message: optStr,
  title: optStr,
  timestamp: optStr,
  url: optStr,
});

/** The merge request as embedded in Note, Emoji and Merge Request hooks. */
export const webhookMergeRequestSchema = z.looseObject({
  id: z.number(),
  iid: z.number(),
  title: optStr,
  description: optStr,
  source_branch: str,
  target_branch: str,
  source_project_id: z.number(),
  target_project_id: z.number(),
  author_id: optNum,
  state: optStr,
  merge_status: optStr,
  detailed_merge_status: optStr,
  draft: optBool,
  work_in_progress: optBool,
  last_commit: lastCommitSchema.nullish(),
  url: optStr,
});

// ---- Pipeline Hook ----
/*
 * Shapes vary across GitLab versions and pipeline sources (a build's `user` without `username`, a
 * bridge job without `runner`, …), and a finished pipeline is evidence the learner must not lose. So
 * only what the service reads is required; every other field is taken when well-formed and becomes
 * null (or []) when not, instead of failing the whole payload.
 */
const anyStr = z.string().nullish().catch(null);
const anyNum = z.number().nullish().catch(null);
const anyBool = z.boolean().nullish().catch(null);
const anyList = <T extends z.ZodType>(item: T) =>
  z
    .array(z.unknown())
    .nullish()
    .catch(null)
    .transform((v) =>
      (v ?? []).flatMap((x) => {
        const r = item.safeParse(x);
        return r.success ? [r.data as z.infer<T>] : [];
      }),
    );

export const pipelineBuildSchema = z.looseObject({
  id: anyNum,
  stage: z.string().catch(''),
  name: str,
  status: str,
  created_at: anyStr,
  started_at: anyStr,
  finished_at: anyStr,
  duration: anyNum,
  queued_duration: anyNum,
  failure_reason: anyStr,
  when: anyStr,
  manual: anyBool,
  allow_failure: anyBool,
  user: webhookUserSchema.nullish().catch(null),
});

export const pipelineHookSchema = z.looseObject({
  object_kind: z.literal('pipeline'),
  object_attributes: z.looseObject({
    id: z.number(),
    iid: anyNum,
    name: anyStr,
    ref: str,
    tag: anyBool,
    sha: str,
    before_sha: anyStr,
    source: anyStr,
    status: str,
    detailed_status: anyStr,
    stages: anyList(str),
    created_at: anyStr,
    finished_at: anyStr,
    duration: anyNum,
    queued_duration: anyNum,
    variables: anyList(z.looseObject({ key: str, value: z.string().nullish().catch(null) })),
    url: anyStr,
  }),
  merge_request: z
    .looseObject({
      id: z.number(),
      iid: z.number(),
      title: optStr,
      source_branch: str,
      source_project_id: z.number(),
      target_branch: str,
      target_project_id: z.number(),
      state: optStr,
      merge_status: optStr,
      detailed_merge_status: optStr,
      url: optStr,
    })
    .nullish()
    .catch(null),
  user: webhookUserSchema.nullish().catch(null),
  project: z.looseObject({
    id: z.number(),
    name: anyStr,
    path_with_namespace: str,
    web_url: anyStr,
    namespace: anyStr,
    default_branch: anyStr,
    /** "" and null both mean `.gitlab-ci.yml` */
    ci_config_path: anyStr,
  }),
  commit: z
    .looseObject({
      id: str,
      message: optStr,
      title: optStr,
      timestamp: optStr,
      url: optStr,
      author: z.looseObject({ name: optStr, email: optStr }).nullish(),
    })
    .nullish()
    .catch(null),
  /** a build that lacks its name or status is left out, never the pipeline */
  builds: anyList(pipelineBuildSchema),
});

// ---- Note Hook ----

export const noteAttributesSchema = z.looseObject({
  id: z.number(),
  note: str,
  noteable_type: str,
  noteable_id: optNum,
  author_id: z.number(),
  project_id: optNum,
  discussion_id: optStr,
  /** `create` or `update` (16.11+); absent on older GitLab, which only sent creates */
  action: optStr,
  internal: optBool,
  confidential: optBool,
  system: optBool,
  type: optStr,
  commit_id: optStr,
  created_at: optStr,
  updated_at: optStr,
  url: optStr,
});

export const noteHookSchema = z.looseObject({
  object_kind: z.literal('note'),
  /** `note`, or `confidential_note` on confidential issues */
  event_type: optStr,
  user: webhookUserSchema,
  project_id: optNum,
  project: webhookProjectSchema,
  object_attributes: noteAttributesSchema,
  /** present when the note is on a merge request */
  merge_request: webhookMergeRequestSchema.nullish(),
});

// ---- Emoji Hook ----

export const emojiHookSchema = z.looseObject({
  object_kind: z.literal('emoji'),
  /** `award` or `revoke` */
  event_type: optStr,
  user: webhookUserSchema,
  project_id: optNum,
  project: webhookProjectSchema,
  object_attributes: z.looseObject({
    id: z.number(),
    user_id: z.number(),
    name: str,
    awardable_type: str,
    awardable_id: z.number(),
    action: optStr,
    created_at: optStr,
    updated_at: optStr,
    awarded_on_url: optStr,
  }),
  /** the awarded note, when `awardable_type` is `Note` (it has no `action`) */
  note: noteAttributesSchema.partial({ author_id: true }).nullish(),
  merge_request: webhookMergeRequestSchema.nullish(),
});

// ---- Merge Request Hook ----

export const mergeRequestHookSchema = z.looseObject({
  object_kind: z.literal('merge_request'),
  event_type: optStr,
  user: webhookUserSchema,
  project: webhookProjectSchema,
  object_attributes: webhookMergeRequestSchema.extend({
    /** open, close, reopen, update, approval, approved, unapproval, unapproved, merge */
    action: optStr,
    oldrev: optStr,
  }),
  labels: list(z.looseObject({ title: optStr })),
  changes: z.record(z.string(), z.unknown()).nullish(),
});

export type WebhookMergeRequest = z.infer<typeof webhookMergeRequestSchema>;
export type PipelineHook = z.infer<typeof pipelineHookSchema>;
export type NoteHook = z.infer<typeof noteHookSchema>;

export type EventKind = 'pipeline' | 'note' | 'confidential_note' | 'merge_request' | 'emoji' | 'job' | 'other';

const EVENT_HEADERS: Record<string, EventKind> = {
  'pipeline hook': 'pipeline',
  'note hook': 'note',
  'confidential note hook': 'confidential_note',
  'merge request hook': 'merge_request',
  'emoji hook': 'emoji',
  'job hook': 'job',
};

const OBJECT_KINDS: Record<string, EventKind> = {
  pipeline: 'pipeline',
  note: 'note',
  merge_request: 'merge_request',
  emoji: 'emoji',
  build: 'job',
};

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * What a delivery is: `X-Gitlab-Event` first (what GitLab sends), else the body's `object_kind`
 * (System Hooks and hand-made requests). Confidential notes are told apart so they can be ignored.
 */
export function eventKind(headers: HeaderBag, body: unknown): EventKind {
  const fromHeader = EVENT_HEADERS[(header(headers, 'x-gitlab-event') ?? '').trim().toLowerCase()];
  const obj = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const confidential =
    obj.event_type === 'confidential_note' ||
    (obj.object_attributes as Record<string, unknown> | undefined)?.confidential === true;
  if (fromHeader) return fromHeader === 'note' && confidential ? 'confidential_note' : fromHeader;
  const fromBody = OBJECT_KINDS[typeof obj.object_kind === 'string' ? obj.object_kind : ''];
  if (!fromBody) return 'other';
  return fromBody === 'note' && confidential ? 'confidential_note' : fromBody;
}

/** A note on a merge request that a user wrote (not a system note), i.e. a candidate command. */
export function isUserMergeRequestNote(hook: NoteHook): hook is NoteHook & { merge_request: WebhookMergeRequest } {
  return (
    hook.object_attributes.noteable_type === 'MergeRequest' &&
    hook.object_attributes.system !== true &&
    !!hook.merge_request
  );
}

/** Note internal (`internal: true`) or on a confidential issue: never acted on. */
export function isConfidentialNote(hook: NoteHook): boolean {
  return (
    hook.event_type === 'confidential_note' ||
    hook.object_attributes.internal === true ||
    hook.object_attributes.confidential === true
  );
}

/** The `ci_config_path` GitLab uses: "" and null fall back to `.gitlab-ci.yml`. */
export function ciConfigPathOf(project: { ci_config_path?: string | null }): string {
  return project.ci_config_path?.trim() || '.gitlab-ci.yml';
}
