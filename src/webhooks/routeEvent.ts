import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import {
  EMOJI_EVENT,
  NOTE_EVENT,
  PIPELINE_EVENT,
  type PipelineEventPayload,
  snapshotFromHook,
  TERMINAL_STATUSES,
} from './events.js';
import { type EventKind, eventKind, pipelineHookSchema } from './webhookPayloads.js';

/** `dedupe`: a key from the event itself, stronger than the delivery's ids (see dedupeKey). */
export type Route = { kind: string; payload: unknown; projectId: number | null; dedupe?: string } | { ignored: string };

/**
 * A comment is one command whatever the delivery: GitLab may send the same note under two event ids
 * (a hook on the project and on its group, a manual "resend"), and each must not get its own reply.
 * An edit (`action: update`) is another event of the same note.
 */
function noteDedupeKey(body: Record<string, unknown>, projectId: number | null): string | undefined {
  const attrs = body.object_attributes as { id?: unknown; action?: unknown } | undefined;
  const noteId = attrs?.id;
  if (projectId === null || typeof noteId !== 'number') return undefined;
  const action = typeof attrs?.action === 'string' ? attrs.action : 'create';
  return `note:${projectId}:${noteId}:${action}`;
}

interface RouteInput {
  body: Record<string, unknown>;
  projectId: number | null;
  /** the payload as stored (computed once, only for events that are kept) */
  redacted: () => unknown;
  log: Logger;
}

/** One row per event kind the service acts on; every other kind is ignored (as commands are routed). */
const ROUTES: Partial<Record<EventKind, (i: RouteInput) => Route>> = {
  pipeline: ({ body, projectId, log }) => {
    const hook = pipelineHookSchema.safeParse(body);
    if (!hook.success) {
      log.warn({ issues: hook.error.issues.slice(0, 3) }, 'pipeline hook with an unexpected shape; ignored');
      return { ignored: 'unrecognised pipeline payload' };
    }
    const status = hook.data.object_attributes.status;
    if (!TERMINAL_STATUSES.has(status)) return { ignored: `pipeline status ${status} is not final` };
    const payload: PipelineEventPayload = { source: 'webhook', snapshot: snapshotFromHook(hook.data) };
    return { kind: PIPELINE_EVENT, payload, projectId };
  },
  note: ({ body, projectId, redacted }) => ({
    kind: NOTE_EVENT,
    payload: { hook: redacted() },
    projectId,
    dedupe: noteDedupeKey(body, projectId),
  }),
  emoji: ({ projectId, redacted }) => ({ kind: EMOJI_EVENT, payload: { hook: redacted() }, projectId }),
  confidential_note: () => ({ ignored: 'confidential notes are never acted on' }),
};

/** The job a delivery becomes, or why it is ignored. */
export function routeEvent(
  headers: Headers,
  body: Record<string, unknown>,
  redacted: () => unknown,
  log: Logger,
): Route {
  const kind = eventKind(headers, body);
  const projectId = (body.project as { id?: unknown } | undefined)?.id;
  const route = ROUTES[kind];
  if (!route) return { ignored: `event ${headers.get('x-gitlab-event') ?? kind} is not handled` };
  return route({ body, projectId: typeof projectId === 'number' ? projectId : null, redacted, log });
}

/**
 * The key a redelivery shares with the original: the event's own identity when it has one (a note),
 * else webhook-id (= Idempotency-Key), else the event UUID (per event and kind), else the body itself.
 */
export function dedupeKey(headers: Headers, route: { kind: string; dedupe?: string }, raw: Uint8Array): string {
  if (route.dedupe) return route.dedupe;
  const id = headers.get('webhook-id') ?? headers.get('idempotency-key');
  if (id) return `id:${id.trim()}`;
  const uuid = headers.get('x-gitlab-event-uuid');
  if (uuid) return `event:${uuid.trim()}:${route.kind}`;
  return `body:${createHash('sha256').update(raw).digest('hex')}`;
}
