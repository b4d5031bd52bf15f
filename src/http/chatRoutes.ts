import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Assistant, ChatScope } from '../chat/assistant.js';
import { projectFromInput } from '../commands/restOperations.js';
import { type ChatStore, SESSION_ID } from '../db/chatStore.js';
import { UserFacingError } from '../errors.js';
import type { GitLab } from '../gitlab/GitLab.js';
import { LlmError } from '../llm/Llm.js';
import type { ToolLoopEvent } from '../llm/runToolLoop.js';
import type { Logger } from '../log.js';
import { jsonBody, writeAccess } from './apiAuth.js';

/**
 * The chat API (issue 12), behind the API token:
 * - `POST /api/v1/chat` `{message, session_id?, project?|repo_url?, merge_request_iid?}`: one turn with
 *   tool calling; `Accept: text/event-stream` (or `"stream": true`) streams server-sent events
 *   (`session`, `content`, `tool_call`, `tool_result`, `done`, `error`), otherwise one JSON answer.
 * - `GET /api/v1/chat/history/{session_id}`: every stored message with its tool calls and results.
 * - `POST /api/v1/chat/approve/{session_id}` `{proposal?, approved_by?}`: commits a project session's
 *   proposal to a new branch and opens a merge request (never the default branch); 409 for a session
 *   bound to a merge request, where approval stays `/pipeline approve`.
 */
export interface ChatRouteOptions {
  apiToken: string | null;
  /** null: why the chat is unavailable (no OLLAMA_HOST, no GitLab) — answered with 503 */
  chat: { assistant: Assistant; chats: ChatStore; gitlab: GitLab } | { unavailable: string };
  log?: Logger;
}

const project = z.union([z.number().int().positive(), z.string().min(1).max(500)]);
const chatBody = z.object({
  message: z.string().trim().min(1).max(8000),
  session_id: z.string().regex(SESSION_ID).optional(),
  project: project.optional(),
  repo_url: z.string().min(1).max(1000).optional(),
  merge_request_iid: z.number().int().positive().optional(),
  stream: z.boolean().optional(),
  user: z.string().min(1).max(100).optional(),
});
const approveBody = z.object({
  proposal: z.number().int().positive().optional(),
  approved_by: z.string().min(1).max(100).optional(),
});

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new UserFacingError(`invalid body: ${why.join('; ')}`, { status: 400 });
  }
  return parsed.data;
}

/** A model that failed is the model server's problem, said as such (the message names no secret). */
function modelFailure(err: unknown): never {
  if (err instanceof LlmError)
    throw new UserFacingError(`the local LLM could not answer: ${err.message}`, {
      status: err.kind === 'timeout' ? 504 : 502,
      code: `llm_${err.kind}`,
    });
  throw err;
}

function eventJson(ev: ToolLoopEvent): { event: string; data: unknown } {
  switch (ev.type) {
    case 'content':
      return { event: 'content', data: { text: ev.text } };
    case 'tool_call':
      return { event: 'tool_call', data: { name: ev.call.name, arguments: ev.call.arguments } };
    case 'tool_result':
      return { event: 'tool_result', data: { name: ev.name, error: ev.error, result: ev.result } };
    case 'done':
      return { event: 'done', data: { content: ev.content, steps: ev.steps, stopped_early: ev.stoppedEarly } };
  }
}

export function chatRoutes(o: ChatRouteOptions): Hono {
  const app = new Hono();
  const chat = () => {
    if ('unavailable' in o.chat)
      throw new UserFacingError(o.chat.unavailable, { status: 503, code: 'chat_unavailable' });
    return o.chat;
  };

  async function scopeOf(b: z.infer<typeof chatBody>, user: string): Promise<ChatScope> {
    const { chats, gitlab } = chat();
    if (b.session_id) {
      const session = await chats.session(b.session_id);
      if (!session) throw new UserFacingError(`no chat session ${b.session_id}`, { status: 404, code: 'not_found' });
      const info = await gitlab.project(session.projectId);
      const mr = session.mrIid !== null ? await gitlab.mergeRequest(info.id, session.mrIid) : null;
      return { session, project: info, mr };
    }
    if (b.project === undefined && b.repo_url === undefined)
      throw new UserFacingError('give session_id, or project (id or path) / repo_url to start a session', {
        status: 400,
      });
    const info = await gitlab.project(projectFromInput(b));
    const mr = b.merge_request_iid !== undefined ? await gitlab.mergeRequest(info.id, b.merge_request_iid) : null;
    const session = await chats.createSession({
      projectId: info.id,
      projectPath: info.path_with_namespace,
      mrIid: mr ? mr.iid : null,
      createdBy: user,
    });
    return { session, project: info, mr };
  }

  const write = writeAccess(o.apiToken);
  app.post('/api/v1/chat', write, async (c) => {
    const b = parse(chatBody, await jsonBody(c, '{"project": "group/app", "message": "generate a pipeline"}'));
    const { assistant } = chat();
    const user = b.user ?? 'api';
    const scope = await scopeOf(b, user);
    const wantsStream = b.stream === true || (c.req.header('accept') ?? '').includes('text/event-stream');
    if (!wantsStream) {
      const out = await assistant.ask(scope, b.message, user, c.req.raw.signal).catch(modelFailure);
      return c.json({
        session_id: scope.session.sessionId,
        project: scope.project.path_with_namespace,
        merge_request_iid: scope.mr?.iid ?? null,
        answer: out.content,
        tool_calls: out.events
          .filter((e): e is Extract<ToolLoopEvent, { type: 'tool_call' }> => e.type === 'tool_call')
          .map((e) => ({ name: e.call.name, arguments: e.call.arguments })),
      });
    }
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({
        event: 'session',
        data: JSON.stringify({
          session_id: scope.session.sessionId,
          project: scope.project.path_with_namespace,
          merge_request_iid: scope.mr?.iid ?? null,
        }),
      });
      try {
        const gen = assistant.turn(scope, b.message, user, c.req.raw.signal);
        for (;;) {
          const n = await gen.next();
          if (n.done) break;
          const { event, data } = eventJson(n.value);
          await stream.writeSSE({ event, data: JSON.stringify(data) });
        }
      } catch (raw) {
        let err = raw;
        try {
          modelFailure(raw);
        } catch (mapped) {
          err = mapped;
        }
        // the headers are sent: the failure goes to the client as an event, and to the log
        const message = err instanceof UserFacingError ? err.message : 'the assistant failed; see the service log';
        if (!(err instanceof UserFacingError)) o.log?.error({ err, path: c.req.path }, 'chat turn failed');
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: message }) });
      }
    });
  });

  app.get('/api/v1/chat/history/:session_id', write, async (c) => {
    const id = c.req.param('session_id');
    if (!SESSION_ID.test(id)) throw new UserFacingError('invalid session id', { status: 400 });
    const { chats } = chat();
    const session = await chats.session(id);
    if (!session) throw new UserFacingError(`no chat session ${id}`, { status: 404, code: 'not_found' });
    const messages = await chats.history(session, 1000);
    return c.json({
      session_id: session.sessionId,
      project: session.projectPath,
      merge_request_iid: session.mrIid,
      created_at: session.createdAt.toISOString(),
      messages: messages.map((m) => ({
        role: m.role,
        content: m.content,
        ...(m.toolCalls ? { tool_calls: m.toolCalls } : {}),
        ...(m.toolName ? { tool_name: m.toolName, result: m.result } : {}),
        ...(m.proposalId ? { proposal_id: m.proposalId } : {}),
        created_at: m.createdAt.toISOString(),
      })),
    });
  });

  app.post('/api/v1/chat/approve/:session_id', write, async (c) => {
    const id = c.req.param('session_id');
    if (!SESSION_ID.test(id)) throw new UserFacingError('invalid session id', { status: 400 });
    const raw = (c.req.header('content-length') ?? '0') === '0' ? {} : await jsonBody(c, '{"proposal": 1}');
    const b = parse(approveBody, raw);
    const { assistant } = chat();
    const out = await assistant.approve(id, { proposal: b.proposal, approvedBy: b.approved_by?.trim() || 'api' });
    return c.json({ success: true, ...out });
  });

  return app;
}
