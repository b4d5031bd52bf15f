import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Proposal } from '../commands/CommandDeps.js';
import { toProposal } from './commandStore.js';
import type { Database } from './database.js';

/**
 * Chat sessions (POST /api/v1/chat, `/pipeline ask`) in the existing conversations and messages tables
 * (migration 0007): a session is a conversation with a `session_id`, bound to one project and, when
 * given, one merge request (mr_iid 0 = none). Every message is stored: the user's, the assistant's
 * with the tool calls it asked for, and each tool result (`role = 'tool'`, `tool_name`, the full result
 * in `command`).
 */
export interface ChatSession {
  /** the conversation row */
  id: number;
  sessionId: string;
  projectId: number;
  projectPath: string;
  /** null: bound to the project only */
  mrIid: number | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> | null;
  toolName: string | null;
  /** a tool's whole result (what the model saw may have been cut) */
  result: unknown;
  proposalId: number | null;
  createdAt: Date;
}

/** Session ids: UUIDs from the API, `mr-<project>-<iid>` for `/pipeline ask`. */
export const SESSION_ID = /^[A-Za-z0-9_.:-]{4,100}$/;

type Row = {
  id: number;
  session_id: string | null;
  project_id: number;
  project_path: string;
  mr_iid: number;
  created_by: string | null;
  created_at: Date;
};

function toSession(r: Row): ChatSession {
  return {
    id: r.id,
    sessionId: r.session_id!,
    projectId: r.project_id,
    projectPath: r.project_path,
    mrIid: r.mr_iid > 0 ? r.mr_iid : null,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
  };
}

export function chatStoreFor(db: Kysely<Database>) {
  return {
    async session(sessionId: string): Promise<ChatSession | null> {
      const r = await db.selectFrom('conversations').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
      return r ? toSession(r as Row) : null;
    },

    /** A new session; `sessionId` may be given by the caller (`/pipeline ask` uses one per MR). */
    async createSession(s: {
      sessionId?: string;
      projectId: number;
      projectPath: string;
      mrIid: number | null;
      createdBy: string | null;
    }): Promise<ChatSession> {
      const sessionId = s.sessionId ?? randomUUID();
      const r = await db
        .insertInto('conversations')
        .values({
          project_id: s.projectId,
          project_path: s.projectPath,
          mr_iid: s.mrIid ?? 0,
          session_id: sessionId,
          created_by: s.createdBy,
        })
        .onConflict((oc) => oc.column('session_id').where('session_id', 'is not', null).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (r) return toSession(r as Row);
      const existing = await this.session(sessionId);
      if (!existing) throw new Error(`chat session ${sessionId} could not be created`);
      return existing;
    },

    async addMessage(
      session: Pick<ChatSession, 'id'>,
      m: {
        role: ChatMessage['role'];
        content: string;
        toolCalls?: ChatMessage['toolCalls'];
        toolName?: string | null;
        result?: unknown;
        proposalId?: number | null;
        authorUsername?: string | null;
      },
    ): Promise<void> {
      await db
        .insertInto('messages')
        .values({
          conversation_id: session.id,
          role: m.role,
          author_username: m.authorUsername ?? null,
          content: m.content,
          tool_calls: m.toolCalls && m.toolCalls.length > 0 ? m.toolCalls : null,
          tool_name: m.toolName ?? null,
          command: m.result === undefined ? null : { result: m.result as Record<string, unknown> },
          proposal_id: m.proposalId ?? null,
        })
        .execute();
      await db.updateTable('conversations').set({ updated_at: new Date() }).where('id', '=', session.id).execute();
    },

    async history(session: Pick<ChatSession, 'id'>, limit = 200): Promise<ChatMessage[]> {
      const rows = await db
        .selectFrom('messages')
        .selectAll()
        .where('conversation_id', '=', session.id)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.reverse().map((r) => ({
        id: r.id,
        role: r.role as ChatMessage['role'],
        content: r.content,
        toolCalls: r.tool_calls ?? null,
        toolName: r.tool_name,
        result: (r.command as { result?: unknown } | null)?.result ?? null,
        proposalId: r.proposal_id,
        createdAt: new Date(r.created_at),
      }));
    },

    /** The whole result of the latest call of a tool in the session (e.g. the last generated pipeline). */
    async lastToolResult(session: Pick<ChatSession, 'id'>, toolName: string): Promise<unknown> {
      const r = await db
        .selectFrom('messages')
        .select('command')
        .where('conversation_id', '=', session.id)
        .where('role', '=', 'tool')
        .where('tool_name', '=', toolName)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      return (r?.command as { result?: unknown } | null)?.result ?? null;
    },

    /**
     * After the approve endpoint opened a merge request for a session's proposal, the proposal belongs to
     * that MR: its pipeline's outcome is reported there, and `/pipeline rollback` works on it.
     */
    async bindProposal(proposalId: number, mrIid: number): Promise<void> {
      await db
        .updateTable('proposals')
        .set({ mr_iid: mrIid, updated_at: new Date() })
        .where('id', '=', proposalId)
        .execute();
    },

    /** A proposal created in a session bound to no merge request; the latest when `number` is not given. */
    async sessionProposal(session: Pick<ChatSession, 'id'>, number?: number): Promise<Proposal | null> {
      let q = db.selectFrom('proposals').selectAll().where('conversation_id', '=', session.id);
      if (number !== undefined) q = q.where('number', '=', number);
      const r = await q.orderBy('number', 'desc').executeTakeFirst();
      return r ? toProposal(r) : null;
    },
  };
}

export type ChatStore = ReturnType<typeof chatStoreFor>;
