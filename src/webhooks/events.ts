import type { RunJob } from '../db/tables/core.js';
import type { PipelineHook } from './webhookPayloads.js';

/** Job kinds, shared by the webhook intake (which enqueues them) and the worker (which runs them). */
export const PIPELINE_EVENT = 'pipeline_event';
export const NOTE_EVENT = 'note_event';
export const EMOJI_EVENT = 'emoji_event';

/** A pipeline in one of these states is finished and can be recorded. */
export const TERMINAL_STATUSES = new Set(['success', 'failed', 'canceled']);

/** Everything about one pipeline that the record step needs, whatever told us about it. */
export interface PipelineSnapshot {
  projectId: number;
  projectPath: string;
  /** the project's `ci_config_path` ("" / null = .gitlab-ci.yml) */
  ciConfigPath: string | null;
  pipelineId: number;
  iid: number | null;
  sha: string;
  ref: string;
  source: string | null;
  status: string;
  durationS: number | null;
  queuedDurationS: number | null;
  finishedAt: string | null;
  /** the pipeline's page, for links in notes */
  webUrl?: string | null;
  jobs: RunJob[];
}

/** A webhook carries the whole snapshot; the reconciler only names the pipeline. */
export type PipelineEventPayload =
  | { source: 'webhook'; snapshot: PipelineSnapshot }
  | { source: 'reconcile'; projectId: number; pipelineId: number };

/** GitLab's webhook timestamps look like "2016-08-12 15:26:29 UTC"; normalised to ISO. */
function isoOrNull(value: string | null | undefined): string | null {
  if (!value) return null;
  const d = new Date(value.replace(' UTC', 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The snapshot a Pipeline Hook carries (builds are the latest attempt of each job). */
export function snapshotFromHook(hook: PipelineHook): PipelineSnapshot {
  const a = hook.object_attributes;
  return {
    projectId: hook.project.id,
    projectPath: hook.project.path_with_namespace,
    ciConfigPath: hook.project.ci_config_path ?? null,
    pipelineId: a.id,
    iid: a.iid ?? null,
    sha: a.sha,
    ref: a.ref,
    source: a.source ?? null,
    status: a.status,
    durationS: a.duration ?? null,
    queuedDurationS: a.queued_duration ?? null,
    finishedAt: isoOrNull(a.finished_at),
    webUrl: a.url ?? null,
    jobs: (hook.builds ?? []).map((b) => ({
      id: b.id ?? null,
      name: b.name,
      stage: b.stage,
      status: b.status,
      failure_reason: b.failure_reason ?? null,
      allow_failure: !!b.allow_failure,
      when: b.when ?? (b.manual ? 'manual' : null),
    })),
  };
}
