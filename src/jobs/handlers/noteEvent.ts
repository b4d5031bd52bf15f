import type {
  AssistantPort,
  BotSettings,
  CommandDeps,
  LearnerPort,
  ProposalGenerator,
} from '../../commands/CommandDeps.js';
import { capLength, inlineCode, safeReply } from '../../commands/markdown.js';
import { parseComment } from '../../commands/parseComment.js';
import type { CommandContext } from '../../commands/Runner.js';
import { accessLevelName, requiredLevel, runCommand } from '../../commands/runCommand.js';
import * as store from '../../db/commandStore.js';
import { commandStoreFor } from '../../db/commandStore.js';
import type { Db } from '../../db/database.js';
import { errorMessage, RetryableError, UserFacingError } from '../../errors.js';
import { type GitLab, GitLabError } from '../../gitlab/GitLab.js';
import {
  ciConfigPathOf,
  isConfidentialNote,
  isUserMergeRequestNote,
  type NoteHook,
  noteHookSchema,
} from '../../webhooks/webhookPayloads.js';
import type { JobContext, JobHandler } from '../Worker.js';

/** The slice of a pino logger the handlers use. */
export interface HandlerLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** What the note/emoji/outcome handlers need; the composition root builds one. */
export interface CommandHandlerDeps {
  db: Db;
  gitlab: GitLab;
  generator: ProposalGenerator;
  learner: LearnerPort;
  config: BotSettings;
  log: HandlerLogger;
  /** the token's own user; `cachedBotUser(gitlab)` asks GitLab once */
  botUser: () => Promise<{ id: number; username: string }>;
  clock?: () => Date;
  /** `/pipeline ask` and `/pipeline explain` (the local LLM); absent without OLLAMA_HOST */
  assistant?: AssistantPort | null;
  /** the service's own secret values, masked wherever a job log is quoted (the failure reply) */
  secretValues?: readonly string[];
}

/** The job being run, for logs and for giving up on retries. */
export interface JobRef {
  id: string;
  /** no retry will follow: answer with a failure instead of asking for one */
  lastAttempt?: boolean;
}

/** `GET /user` once per process; a failure is not cached. */
export function cachedBotUser(gitlab: GitLab): () => Promise<{ id: number; username: string }> {
  let pending: Promise<{ id: number; username: string }> | null = null;
  return () => {
    if (!pending) {
      pending = gitlab.currentUser().catch((err) => {
        pending = null;
        throw err;
      });
    }
    return pending;
  };
}

/** Allowlist entries are group or project paths (or numeric project ids); empty allows everything. */
export function allowed(allowlist: string[], project: { id: number; path: string }): boolean {
  if (allowlist.length === 0) return true;
  const path = project.path.toLowerCase();
  return allowlist.some((raw) => {
    const entry = raw
      .trim()
      .replace(/^\/+|\/+$/g, '')
      .toLowerCase();
    if (/^\d+$/.test(entry)) return Number(entry) === project.id;
    return entry !== '' && (path === entry || path.startsWith(`${entry}/`));
  });
}

/**
 * GitLab with every write turned into a log line: dry-run mode records what it would have done and
 * answers nothing. Commits get a recognisable fake sha so proposals still move through their states.
 */
export function dryRunGitLab(gitlab: GitLab, log: HandlerLogger): GitLab {
  let n = 0;
  return {
    ...gitlab,
    async createCommit(project, commit) {
      n += 1;
      log.info(
        { project, branch: commit.branch, files: commit.actions.map((a) => a.filePath) },
        'dry-run: commit not made',
      );
      return { id: `dry-run-${Date.now().toString(16)}-${n}`, web_url: null };
    },
    async createMergeRequestNote(project, iid) {
      log.info({ project, iid }, 'dry-run: note not posted');
      return { id: 0 };
    },
    async replyToDiscussion(project, iid) {
      log.info({ project, iid }, 'dry-run: reply not posted');
      return { id: 0 };
    },
    async updateMergeRequestNote(project, iid, noteId) {
      log.info({ project, iid, noteId }, 'dry-run: note not updated');
    },
    async awardEmojiOnNote() {},
  };
}

/** The webhook route stores `{ hook }`; tests and tools may pass the bare hook. */
export function hookOf(payload: unknown): unknown {
  if (payload && typeof payload === 'object' && 'hook' in payload && !('object_kind' in payload)) {
    return (payload as { hook: unknown }).hook;
  }
  return payload;
}

/** The `note_event` job handler for the worker. */
export function noteEventJobHandler(deps: CommandHandlerDeps): JobHandler {
  return async (payload: unknown, ctx: JobContext) => {
    await handleNoteEvent(payload, { ...deps, log: ctx.log }, jobRefOf(ctx));
  };
}

export function jobRefOf(ctx: JobContext): JobRef {
  return { id: String(ctx.job.id), lastAttempt: ctx.job.attempts >= ctx.job.maxAttempts };
}

export type NoteOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'duplicate' }
  | { outcome: 'replied'; verb: string | null; replyNoteId: number | null; body: string }
  | { outcome: 'silent'; reason: string };

/** The emoji put on a command note when the bot picks it up. */
const RECEIPT_EMOJI = 'eyes';

/**
 * A Note Hook delivery, stored and queued as a `note_event` job. Safe to run twice: the execution row
 * keyed by the note id means one reply per command, and the runners themselves are idempotent.
 */
export async function handleNoteEvent(payload: unknown, deps: CommandHandlerDeps, job: JobRef): Promise<NoteOutcome> {
  const parsed = noteHookSchema.safeParse(hookOf(payload));
  if (!parsed.success) return { outcome: 'ignored', reason: 'not a note payload' };
  const hook = parsed.data;
  if (!isUserMergeRequestNote(hook)) return { outcome: 'ignored', reason: 'not a comment on a merge request' };
  if (isConfidentialNote(hook)) return { outcome: 'ignored', reason: 'internal or confidential note' };
  if (hook.object_attributes.action === 'update') return { outcome: 'ignored', reason: 'edited note' };

  const bot = await deps.botUser();
  if (hook.object_attributes.author_id === bot.id || hook.user.id === bot.id) {
    return { outcome: 'ignored', reason: "the bot's own note" };
  }
  const result = parseComment(hook.object_attributes.note, { botUsername: bot.username });
  if (result.kind === 'ignore') return { outcome: 'ignored', reason: 'no command' };

  const project = { id: hook.project.id, path: hook.project.path_with_namespace };
  if (!allowed(deps.config.allowlist, project)) {
    deps.log.info({ job: job.id, project: project.path }, 'command in a project outside the allowlist ignored');
    return { outcome: 'ignored', reason: 'project not in the allowlist' };
  }

  const db = deps.db;
  const clock = deps.clock ?? (() => new Date());
  const mrIid = hook.merge_request.iid;
  const noteId = hook.object_attributes.id;
  const verb = result.kind === 'command' ? result.verb : null;
  const key = `note:${project.id}:${noteId}`;
  const claim = await store.claimExecution(db, {
    key,
    projectId: project.id,
    mrIid,
    verb: verb ?? 'reply',
    jobId: job.id,
  });
  if (claim.kind === 'replied') return { outcome: 'duplicate' };

  const gitlab = deps.config.dryRun ? dryRunGitLab(deps.gitlab, deps.log) : deps.gitlab;
  const discussionId = hook.object_attributes.discussion_id ?? null;
  const post = async (body: string): Promise<number | null> => {
    const text = capLength(safeReply(body));
    await store.recordReplyBody(db, key, text);
    const note = discussionId
      ? await gitlab.replyToDiscussion(project.id, mrIid, discussionId, text)
      : await gitlab.createMergeRequestNote(project.id, mrIid, text);
    const replyNoteId = deps.config.dryRun ? null : note.id;
    await store.finishExecution(db, key, { status: 'replied', replyBody: text, replyNoteId });
    await store.addMessage(db, {
      projectId: project.id,
      projectPath: project.path,
      mrIid,
      role: 'assistant',
      authorId: bot.id,
      authorUsername: bot.username,
      noteId: replyNoteId,
      content: text,
    });
    return replyNoteId;
  };

  if (claim.kind === 'retry' && claim.replyBody) {
    // The command ran and its answer was recorded, but posting it may not have happened.
    const replyNoteId = await post(claim.replyBody);
    if (verb === 'generate' && replyNoteId !== null) {
      // The proposal this answer shows was made on the first run; it still needs its note.
      const latest = await store.latestProposal(db, project.id, mrIid);
      if (latest && latest.noteId === null && latest.discussionId === discussionId) {
        await store.updateProposal(db, latest.id, { noteId: replyNoteId });
      }
    }
    return { outcome: 'replied', verb, replyNoteId, body: claim.replyBody };
  }

  if (claim.kind === 'new') {
    await store.addMessage(db, {
      projectId: project.id,
      projectPath: project.path,
      mrIid,
      role: 'user',
      authorId: hook.user.id,
      authorUsername: hook.user.username,
      noteId,
      content: hook.object_attributes.note,
      command: result.kind === 'command' ? { verb: result.verb, args: { ...result.args } } : null,
    });
    const limited = await rateLimited(deps, { userId: hook.user.id, projectId: project.id, mrIid, at: clock() });
    if (limited === 'silent') {
      await store.finishExecution(db, key, { status: 'done', error: 'rate limited' });
      return { outcome: 'silent', reason: 'rate limited (already told)' };
    }
    if (limited) {
      const replyNoteId = await post(limited);
      return { outcome: 'replied', verb, replyNoteId, body: limited };
    }
  }

  await receipt(gitlab, project.id, mrIid, noteId, deps, job);

  let body: string;
  let proposalId: number | undefined;
  try {
    const reply = await answer(hook, result, { project, bot, gitlab, deps, clock, discussionId });
    body = reply.body;
    proposalId = reply.proposalId;
  } catch (err) {
    if (err instanceof UserFacingError) {
      body = err.message;
    } else if (
      !job.lastAttempt &&
      (err instanceof RetryableError || (err instanceof GitLabError && err.retry !== 'never'))
    ) {
      await store.recordExecutionError(db, key, errorMessage(err));
      throw err instanceof RetryableError ? err : new RetryableError(err.message, err.retryAfterMs, { cause: err });
    } else {
      deps.log.error({ job: job.id, key, verb, err: errorMessage(err) }, 'command failed');
      await store.recordExecutionError(db, key, errorMessage(err));
      body = `The command failed (job ${inlineCode(job.id)}); the details are in the service log. Try again in a moment, and tell your administrator if it keeps failing.`;
    }
  }
  const replyNoteId = await post(body);
  if (proposalId !== undefined) {
    await store.updateProposal(db, proposalId, {
      noteId: replyNoteId ?? undefined,
      discussionId: discussionId ?? undefined,
    });
  }
  return { outcome: 'replied', verb, replyNoteId, body };
}

async function receipt(
  gitlab: CommandHandlerDeps['gitlab'],
  projectId: number,
  mrIid: number,
  noteId: number,
  deps: CommandHandlerDeps,
  job: JobRef,
): Promise<void> {
  try {
    await gitlab.awardEmojiOnNote(projectId, mrIid, noteId, RECEIPT_EMOJI);
  } catch (err) {
    // A missing reaction is cosmetic: never fail the command for it.
    deps.log.warn({ job: job.id, err: errorMessage(err) }, 'could not react to the command note');
  }
}

async function rateLimited(
  deps: CommandHandlerDeps,
  use: { userId: number; projectId: number; mrIid: number; at: Date },
): Promise<string | 'silent' | null> {
  const { ratePerUserPerHour, ratePerMrPerHour } = deps.config;
  const user = await store.countUse(deps.db, 'user', String(use.userId), use.at);
  const mr = await store.countUse(deps.db, 'mr', `${use.projectId}!${use.mrIid}`, use.at);
  const next = new Date(Math.floor(use.at.getTime() / 3_600_000 + 1) * 3_600_000).toISOString().slice(11, 16);
  // Tell once per window; after that stay quiet, or the limit itself would flood the MR.
  if (user === ratePerUserPerHour + 1) {
    return `You have reached the limit of ${ratePerUserPerHour} commands per hour. Try again after ${next} UTC.`;
  }
  if (mr === ratePerMrPerHour + 1) {
    return `This merge request has reached the limit of ${ratePerMrPerHour} commands per hour. Try again after ${next} UTC.`;
  }
  if (user > ratePerUserPerHour || mr > ratePerMrPerHour) return 'silent';
  return null;
}

async function answer(
  hook: NoteHook & { merge_request: NonNullable<NoteHook['merge_request']> },
  result: Exclude<ReturnType<typeof parseComment>, { kind: 'ignore' }>,
  env: {
    project: { id: number; path: string };
    bot: { id: number; username: string };
    gitlab: CommandHandlerDeps['gitlab'];
    deps: CommandHandlerDeps;
    clock: () => Date;
    discussionId: string | null;
  },
): Promise<{ body: string; proposalId?: number }> {
  const { deps, gitlab, project } = env;
  const level = await gitlab.memberAccessLevel(project.id, hook.user.id);
  const needed = result.kind === 'command' ? requiredLevel(result.verb, deps.config) : deps.config.readLevel;
  if (level < needed) {
    const what = result.kind === 'command' ? inlineCode(`/pipeline ${result.verb}`) : 'Commands';
    return {
      body: `${what} needs at least the ${accessLevelName(needed)} role on this project; you have ${level > 0 ? accessLevelName(level) : 'no role'}. Ask a maintainer to run it.`,
    };
  }
  if (result.kind === 'reply') return { body: result.message };

  const mr = await gitlab.mergeRequest(project.id, hook.merge_request.iid);
  if (mr.state !== 'opened' && result.verb !== 'help') {
    return { body: `This merge request is ${mr.state}, so I won't act on it. Open a new merge request and ask there.` };
  }
  const ctx: CommandContext = {
    verb: result.verb,
    args: result.args,
    project: { ...project, configPath: ciConfigPathOf(hook.project) },
    mr,
    user: { id: hook.user.id, username: hook.user.username, name: hook.user.name ?? null },
    note: { id: hook.object_attributes.id, discussionId: env.discussionId },
  };
  const commandDeps: CommandDeps = {
    gitlab,
    store: commandStoreFor(deps.db),
    generator: deps.generator,
    learner: deps.learner,
    clock: env.clock,
    config: deps.config,
    assistant: deps.assistant ?? null,
  };
  const reply = await runCommand(ctx, commandDeps);
  if (result.verb === 'feedback' || result.verb === 'rate') {
    const latest = await commandDeps.store.latestProposal(project.id, mr.iid);
    if (latest && result.args.text) {
      await commandDeps.store.addMessage({
        projectId: project.id,
        projectPath: project.path,
        mrIid: mr.iid,
        role: 'user',
        authorId: hook.user.id,
        authorUsername: hook.user.username,
        content: result.args.text,
        command: { verb: result.verb, feedback: true, rating: result.args.rating ?? null },
        proposalId: latest.id,
      });
    }
  }
  return reply;
}
