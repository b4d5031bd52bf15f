/**
 * Webhook deliveries that agree with the fake GitLab's state, built on the recorded payloads in
 * ./payloads/ (copied from ../shared/reference/payloads). Use them to drive the webhook endpoint:
 *
 *   const { body, headers } = pipelineHook(gl, pipeline.id);          // Pipeline Hook for that pipeline + jobs
 *   const cmd = noteHook(gl, project, mr.iid, user.id, '/pipeline generate'); // also stores the note in the fake
 *   const award = emojiHook(gl, project, mr.iid, proposalNoteId, user.id, 'thumbsup');     // or action 'revoke'
 *   await app.request('/webhooks/gitlab', { method: 'POST', headers: { ...headers, 'X-Gitlab-Token': secret },
 *     body: JSON.stringify(body) });
 *
 * `headers` carry X-Gitlab-Event, X-Gitlab-Event-UUID, Idempotency-Key and webhook-id (one fresh UUID per
 * call; pass `{ deliveryId }` to replay the same delivery) but no credentials.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FakeGitLab, FakeNote, FakeProject } from './fakeGitLab.js';

type Json = Record<string, unknown>;

export function loadPayload(
  name: 'pipeline_success' | 'pipeline_failed' | 'note_on_mr' | 'emoji_award' | 'merge_request_open',
): Json {
  return JSON.parse(readFileSync(new URL(`./payloads/${name}.json`, import.meta.url), 'utf8')) as Json;
}

export interface Delivery<T = Json> {
  body: T;
  headers: Record<string, string>;
  deliveryId: string;
}

function deliveryHeaders(event: string, deliveryId: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitLab/17.11.0',
    'x-gitlab-event': event,
    'x-gitlab-instance': 'http://gitlab.example.com',
    'x-gitlab-event-uuid': deliveryId,
    'idempotency-key': deliveryId,
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
  };
}

function projectBlock(gl: FakeGitLab, p: FakeProject): Json {
  const name = p.path.split('/').pop();
  return {
    id: p.id,
    name,
    description: null,
    web_url: p.webUrl,
    avatar_url: null,
    git_ssh_url: `git@127.0.0.1:${p.path}.git`,
    git_http_url: `${p.webUrl}.git`,
    namespace: p.path.split('/').slice(0, -1).join('/'),
    visibility_level: 0,
    path_with_namespace: p.path,
    default_branch: p.defaultBranch,
    ci_config_path: p.ciConfigPath,
    homepage: p.webUrl,
    url: `${gl.url}/${p.path}.git`,
    ssh_url: `git@127.0.0.1:${p.path}.git`,
    http_url: `${p.webUrl}.git`,
  };
}

function userBlock(gl: FakeGitLab, userId: number | null): Json | null {
  const u = userId === null ? undefined : gl.state.users.get(userId);
  return u ? { id: u.id, name: u.name, username: u.username, avatar_url: null, email: '[REDACTED]' } : null;
}

function mrBlock(p: FakeProject, iid: number): Json {
  const mr = p.mergeRequests.get(iid);
  if (!mr) throw new Error(`fake: no merge request !${iid} in ${p.path}`);
  const sha = p.branches.get(mr.sourceBranch) ?? null;
  return {
    id: mr.id,
    iid: mr.iid,
    title: mr.title,
    description: '',
    source_branch: mr.sourceBranch,
    target_branch: mr.targetBranch,
    source_project_id: mr.sourceProjectId,
    target_project_id: p.id,
    author_id: mr.authorId,
    state: mr.state,
    merge_status: 'can_be_merged',
    detailed_merge_status: 'mergeable',
    draft: false,
    work_in_progress: false,
    last_commit: sha
      ? {
          id: sha,
          message: 'head',
          title: 'head',
          timestamp: new Date().toISOString(),
          url: `${p.webUrl}/-/commit/${sha}`,
        }
      : null,
    url: `${p.webUrl}/-/merge_requests/${mr.iid}`,
  };
}

/** A Pipeline Hook for a pipeline of the fake, with its (latest) jobs as `builds`. */
export function pipelineHook(
  gl: FakeGitLab,
  pipelineId: number,
  opts: { deliveryId?: string; mergeRequestIid?: number } = {},
): Delivery {
  const pipeline = gl.state.pipelines.get(pipelineId);
  if (!pipeline) throw new Error(`fake: no pipeline ${pipelineId}`);
  const p = gl.project(pipeline.projectId);
  const template = loadPayload(pipeline.status === 'success' ? 'pipeline_success' : 'pipeline_failed');
  const jobs = [...gl.state.jobs.values()].filter((j) => j.pipelineId === pipelineId && !j.retried);
  const commit = p.commits.get(pipeline.sha);
  const body: Json = {
    ...template,
    object_attributes: {
      ...(template.object_attributes as Json),
      id: pipeline.id,
      iid: pipeline.iid,
      name: pipeline.name,
      ref: pipeline.ref,
      tag: false,
      sha: pipeline.sha,
      before_sha: commit?.parentIds[0] ?? '0000000000000000000000000000000000000000',
      source: pipeline.source,
      status: pipeline.status,
      detailed_status: pipeline.status === 'success' ? 'passed' : pipeline.status,
      stages: [...new Set(jobs.map((j) => j.stage))],
      created_at: pipeline.created_at,
      finished_at: pipeline.finished_at,
      duration: pipeline.duration,
      queued_duration: pipeline.queued_duration,
      variables: [],
      url: `${p.webUrl}/-/pipelines/${pipeline.id}`,
    },
    merge_request: opts.mergeRequestIid === undefined ? null : mrBlock(p, opts.mergeRequestIid),
    user: userBlock(gl, pipeline.userId),
    project: projectBlock(gl, p),
    commit: {
      id: pipeline.sha,
      message: commit?.message ?? 'commit',
      title: (commit?.message ?? 'commit').split('\n')[0],
      timestamp: commit?.createdAt ?? pipeline.created_at,
      url: `${p.webUrl}/-/commit/${pipeline.sha}`,
      author: { name: commit?.authorName ?? 'Author', email: '[REDACTED]' },
    },
    builds: jobs.map((j) => ({
      id: j.id,
      stage: j.stage,
      name: j.name,
      status: j.status,
      created_at: pipeline.created_at,
      started_at: pipeline.created_at,
      finished_at: pipeline.finished_at,
      duration: j.duration,
      queued_duration: j.queued_duration,
      failure_reason: j.status === 'failed' ? (j.failure_reason ?? 'script_failure') : null,
      when: j.when,
      manual: j.when === 'manual',
      allow_failure: j.allow_failure,
      user: userBlock(gl, j.userId),
      runner: null,
      artifacts_file: { filename: null, size: null },
      environment: null,
    })),
  };
  const deliveryId = opts.deliveryId ?? randomUUID();
  return { body, headers: deliveryHeaders('Pipeline Hook', deliveryId), deliveryId };
}

function noteBlock(p: FakeProject, iid: number, note: FakeNote, action?: 'create' | 'update'): Json {
  const mr = p.mergeRequests.get(iid)!;
  return {
    attachment: null,
    author_id: note.authorId,
    change_position: null,
    commit_id: null,
    created_at: note.createdAt,
    discussion_id: note.discussionId,
    id: note.id,
    internal: false,
    line_code: null,
    note: note.body,
    noteable_id: mr.id,
    noteable_type: 'MergeRequest',
    original_position: null,
    position: null,
    project_id: p.id,
    resolved_at: null,
    resolved_by_id: null,
    resolved_by_push: null,
    st_diff: null,
    system: note.system,
    type: note.individual ? null : 'DiscussionNote',
    updated_at: note.updatedAt,
    updated_by_id: null,
    description: note.body,
    ...(action ? { action } : {}),
    url: `${p.webUrl}/-/merge_requests/${iid}#note_${note.id}`,
  };
}

/**
 * A user comments on a merge request: the note is stored in the fake (so replies to its discussion
 * work) and the matching Note Hook is returned. `existing` re-sends a stored note (e.g. `action: 'update'`).
 */
export function noteHook(
  gl: FakeGitLab,
  p: FakeProject,
  iid: number,
  authorId: number,
  body: string,
  opts: {
    deliveryId?: string;
    action?: 'create' | 'update';
    internal?: boolean;
    existing?: FakeNote;
    discussionId?: string;
  } = {},
): Delivery & { note: FakeNote } {
  const note = opts.existing ?? p.addNote(iid, authorId, body, opts.discussionId);
  if (opts.existing && opts.existing.body !== body) {
    opts.existing.body = body;
    opts.existing.updatedAt = new Date().toISOString();
  }
  const payload: Json = {
    object_kind: 'note',
    event_type: 'note',
    user: userBlock(gl, authorId),
    project_id: p.id,
    project: projectBlock(gl, p),
    repository: { name: p.path.split('/').pop(), url: `${p.webUrl}.git`, description: null, homepage: p.webUrl },
    object_attributes: { ...noteBlock(p, iid, note, opts.action ?? 'create'), internal: opts.internal ?? false },
    merge_request: mrBlock(p, iid),
  };
  const deliveryId = opts.deliveryId ?? randomUUID();
  return { body: payload, headers: deliveryHeaders('Note Hook', deliveryId), deliveryId, note };
}

/** A user awards (or revokes) an emoji on a merge-request note. Records the award in the fake. */
export function emojiHook(
  gl: FakeGitLab,
  p: FakeProject,
  iid: number,
  noteId: number,
  userId: number,
  name: string,
  opts: { deliveryId?: string; action?: 'award' | 'revoke' } = {},
): Delivery {
  const note = p.notes(iid).find((n) => n.id === noteId);
  if (!note) throw new Error(`fake: no note ${noteId} on !${iid}`);
  const action = opts.action ?? 'award';
  let award = note.awards.find((a) => a.name === name && a.userId === userId);
  if (action === 'award' && !award) {
    award = { id: gl.state.nextId('award'), name, userId, createdAt: new Date().toISOString() };
    note.awards.push(award);
  }
  if (action === 'revoke' && award) note.awards.splice(note.awards.indexOf(award), 1);
  const t = new Date().toISOString();
  const payload: Json = {
    object_kind: 'emoji',
    event_type: action,
    user: userBlock(gl, userId),
    project_id: p.id,
    project: projectBlock(gl, p),
    object_attributes: {
      user_id: userId,
      created_at: award?.createdAt ?? t,
      id: award?.id ?? gl.state.nextId('award'),
      name,
      awardable_type: 'Note',
      awardable_id: note.id,
      updated_at: t,
      action,
      awarded_on_url: `${p.webUrl}/-/merge_requests/${iid}#note_${note.id}`,
    },
    note: noteBlock(p, iid, note),
    merge_request: mrBlock(p, iid),
  };
  const deliveryId = opts.deliveryId ?? randomUUID();
  return { body: payload, headers: deliveryHeaders('Emoji Hook', deliveryId), deliveryId };
}
