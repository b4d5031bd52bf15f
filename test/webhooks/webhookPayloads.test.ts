import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tenantOf } from '../../src/learning/Chooser.js';
import {
  ciConfigPathOf,
  emojiHookSchema,
  eventKind,
  isConfidentialNote,
  isUserMergeRequestNote,
  mergeRequestHookSchema,
  noteHookSchema,
  pipelineHookSchema,
} from '../../src/webhooks/webhookPayloads.js';

const PAYLOADS = new URL('../fakes/payloads/', import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, PAYLOADS), 'utf8')) as Record<string, unknown>;

describe('recorded payloads parse', () => {
  it('Pipeline Hook (success, with MR)', () => {
    const hook = pipelineHookSchema.parse(load('pipeline_success.json'));
    expect(hook.object_attributes).toMatchObject({ id: 31, iid: 3, status: 'success', source: 'merge_request_event' });
    expect(hook.merge_request?.iid).toBe(1);
    expect(hook.project.path_with_namespace).toBe('gitlab-org/gitlab-test');
    expect(hook.builds.length).toBeGreaterThan(0);
    expect(hook.object_attributes.variables[0]).toMatchObject({ key: 'NESTOR_PROD_ENVIRONMENT' });
  });

  it('Pipeline Hook (failed push pipeline, merge_request null)', () => {
    const hook = pipelineHookSchema.parse(load('pipeline_failed.json'));
    expect(hook.merge_request).toBeNull();
    const failed = hook.builds.filter((b) => b.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0].failure_reason).toBe('script_failure');
  });

  it('Note Hook on a merge request', () => {
    const hook = noteHookSchema.parse(load('note_on_mr.json'));
    expect(hook.object_attributes).toMatchObject({
      id: 1244,
      noteable_type: 'MergeRequest',
      action: 'create',
      internal: false,
    });
    expect(hook.object_attributes.discussion_id).toBe('8abd325c824df164f5f900b80b6231c37ac77ac3');
    expect(hook.object_attributes.note.split('\n')[0]).toBe('@ci-bot lint');
    expect(isUserMergeRequestNote(hook)).toBe(true);
    expect(isConfidentialNote(hook)).toBe(false);
    expect(hook.merge_request?.last_commit?.id).toMatch(/^[0-9a-f]{40}$/);
  });

  it('Emoji Hook on an MR note', () => {
    const hook = emojiHookSchema.parse(load('emoji_award.json'));
    expect(hook.object_attributes).toMatchObject({
      name: 'thumbsup',
      awardable_type: 'Note',
      awardable_id: 363,
      action: 'award',
    });
    expect(hook.note?.discussion_id).toBe('c3d97fd471f210a5dc8b97a409e3bea95ee06c14');
    expect(hook.merge_request?.iid).toBe(42);
  });

  it('Merge Request Hook', () => {
    const hook = mergeRequestHookSchema.parse(load('merge_request_open.json'));
    expect(hook.object_attributes).toMatchObject({
      iid: 1,
      action: 'open',
      source_branch: 'ms-viewport',
      state: 'opened',
    });
    expect(ciConfigPathOf(hook.project)).toBe('.gitlab-ci.yml');
  });

  it('unknown fields pass through; missing optional fields and nulls are tolerated', () => {
    const raw = load('pipeline_success.json');
    const attrs = raw.object_attributes as Record<string, unknown>;
    const mutated = {
      ...raw,
      brand_new_field: { x: 1 },
      builds: null,
      object_attributes: { ...attrs, stages: undefined, duration: null, variables: null, new_attr: 'y' },
    };
    const hook = pipelineHookSchema.parse(mutated);
    expect((hook as Record<string, unknown>).brand_new_field).toEqual({ x: 1 });
    expect((hook.object_attributes as Record<string, unknown>).new_attr).toBe('y');
    expect(hook.builds).toEqual([]);
    expect(hook.object_attributes.stages).toEqual([]);
    expect(hook.object_attributes.duration).toBeNull();
  });

  it('rejects a payload of the wrong kind or missing what we need', () => {
    expect(pipelineHookSchema.safeParse(load('note_on_mr.json')).success).toBe(false);
    const raw = load('pipeline_success.json');
    expect(pipelineHookSchema.safeParse({ ...raw, project: undefined }).success).toBe(false);
  });
});

describe('eventKind', () => {
  it('prefers X-Gitlab-Event, case-insensitively, in Headers or plain objects', () => {
    expect(eventKind(new Headers({ 'X-Gitlab-Event': 'Pipeline Hook' }), {})).toBe('pipeline');
    expect(eventKind({ 'x-gitlab-event': 'Note Hook' }, load('note_on_mr.json'))).toBe('note');
    expect(eventKind({ 'X-Gitlab-Event': 'Emoji Hook' }, {})).toBe('emoji');
    expect(eventKind({ 'X-Gitlab-Event': ['Merge Request Hook'] }, {})).toBe('merge_request');
    expect(eventKind({ 'X-Gitlab-Event': 'Job Hook' }, {})).toBe('job');
    expect(eventKind({ 'X-Gitlab-Event': 'Confidential Note Hook' }, {})).toBe('confidential_note');
  });

  it('falls back to object_kind, and flags confidential notes', () => {
    expect(eventKind({}, { object_kind: 'pipeline' })).toBe('pipeline');
    expect(eventKind({}, { object_kind: 'build' })).toBe('job');
    expect(eventKind({}, { object_kind: 'note', event_type: 'confidential_note' })).toBe('confidential_note');
    expect(eventKind({ 'X-Gitlab-Event': 'Note Hook' }, { object_kind: 'note', event_type: 'confidential_note' })).toBe(
      'confidential_note',
    );
    expect(eventKind({ 'X-Gitlab-Event': 'Push Hook' }, { object_kind: 'push' })).toBe('other');
    expect(eventKind({}, null)).toBe('other');
    expect(eventKind({}, 'text')).toBe('other');
  });
});

describe('helpers', () => {
  it('tenantOf is the first path segment', () => {
    expect(tenantOf('acme/team/app')).toBe('acme');
    expect(tenantOf('solo')).toBe('solo');
    expect(() => tenantOf('')).toThrow();
  });

  it('internal notes are confidential; system notes are not commands', () => {
    const raw = load('note_on_mr.json');
    const attrs = raw.object_attributes as Record<string, unknown>;
    expect(isConfidentialNote(noteHookSchema.parse({ ...raw, object_attributes: { ...attrs, internal: true } }))).toBe(
      true,
    );
    expect(
      isUserMergeRequestNote(noteHookSchema.parse({ ...raw, object_attributes: { ...attrs, system: true } })),
    ).toBe(false);
    expect(
      isUserMergeRequestNote(
        noteHookSchema.parse({
          ...raw,
          merge_request: undefined,
          object_attributes: { ...attrs, noteable_type: 'Issue' },
        }),
      ),
    ).toBe(false);
  });

  it('ciConfigPathOf falls back to .gitlab-ci.yml', () => {
    expect(ciConfigPathOf({ ci_config_path: null })).toBe('.gitlab-ci.yml');
    expect(ciConfigPathOf({ ci_config_path: '' })).toBe('.gitlab-ci.yml');
    expect(ciConfigPathOf({ ci_config_path: 'ci/main.yml' })).toBe('ci/main.yml');
  });
});
