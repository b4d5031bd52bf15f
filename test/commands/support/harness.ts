import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type {
  ArmView,
  BotSettings,
  FeedbackInput,
  GeneratedPipeline,
  LearnerPort,
  ProposalGenerator,
  ProposeRequest,
  RecordedRunView,
} from '../../../src/commands/CommandDeps.js';
import type { Store } from '../../../src/db/openDatabase.js';
import { createGitLab } from '../../../src/gitlab/GitbeakerGitLab.js';
import { type CommandHandlerDeps, cachedBotUser, type HandlerLogger } from '../../../src/jobs/handlers/noteEvent.js';
import { type PipelineRunView, pipelineRunFromHook } from '../../../src/jobs/handlers/proposalOutcome.js';
import { pipelineHookSchema } from '../../../src/webhooks/webhookPayloads.js';
import type { FakeGitLab, FakeProject, FakeUser } from '../../fakes/fakeGitLab.js';

// biome-ignore lint/suspicious/noExplicitAny: recorded JSON payloads, edited field by field
type Payload = Record<string, any>;

const payloadDir = fileURLToPath(new URL('../../fakes/payloads/', import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(`${payloadDir}${name}`, 'utf8')) as Payload;

export const EXPRESS_PIPELINE = [
  'stages: [test, learn]',
  'test:',
  '  stage: test',
  '  image: node:20',
  '  script:',
  '    - npm ci',
  '    - npm test',
  '',
].join('\n');

/**
 * Stands in for the real generator (issue 3) in these tests: a fixed pipeline per language, with the
 * shape generatePipeline returns. It records what it was asked.
 */
export class TestGenerator implements ProposalGenerator {
  requests: ProposeRequest[] = [];
  config = EXPRESS_PIPELINE;
  dockerfile: string | null = null;
  async proposePipeline(request: ProposeRequest): Promise<GeneratedPipeline> {
    this.requests.push(request);
    const config = request.overrides.language === 'python' ? 'test:\n  script: [pytest]\n' : this.config;
    return {
      language: request.overrides.language ?? 'node',
      framework: request.overrides.framework ?? 'express',
      source: 'template',
      sourceLabel: 'template node-express',
      evidence: ['package.json depends on express'],
      confidence: { mean: 0.8, low: 0.55, high: 0.95, runs: 4 },
      config,
      dockerfile: this.dockerfile,
      decisionId: randomUUID(),
      hash: createHash('sha256').update(config).digest('hex'),
      validation: { valid: true, errors: [], warnings: [] },
    };
  }
}

/** Stands in for the learner (issue 4): records feedback and rewards. */
export class TestLearner implements LearnerPort {
  feedbacks: FeedbackInput[] = [];
  rewards: Array<{ decisionId: string; pipelineId: number }> = [];
  armList: ArmView[] = [];
  /** what `recordedRun` answers per pipeline id (the real learner stores it when the run is recorded) */
  recorded = new Map<number, RecordedRunView>();
  async feedback(input: FeedbackInput) {
    this.feedbacks.push(input);
  }
  async arms() {
    return this.armList;
  }
  async attachReward(decisionId: string, pipelineId: number) {
    this.rewards.push({ decisionId, pipelineId });
  }
  async recordedRun(pipelineId: number) {
    return this.recorded.get(pipelineId) ?? null;
  }
}

export class TestLog implements HandlerLogger {
  lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  info(obj: Record<string, unknown>, msg: string) {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: Record<string, unknown>, msg: string) {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: Record<string, unknown>, msg: string) {
    this.lines.push({ level: 'error', obj, msg });
  }
}

export const defaultSettings = (): BotSettings => ({
  allowlist: [],
  dryRun: false,
  approveLevel: 30,
  readLevel: 20,
  ratePerUserPerHour: 30,
  ratePerMrPerHour: 60,
  commitAuthorName: 'pipeline-learner',
  commitAuthorEmail: 'pipeline-learner@noreply.invalid',
});

let projectCounter = 0;

/** One project with an open MR from `feature`, a Developer, a Reporter and a Guest. */
export function scenario(gl: FakeGitLab, store: Store, opts: { files?: Record<string, string> } = {}) {
  projectCounter += 1;
  const project = gl.addProject({
    path: `acme/team/app${projectCounter}-${randomUUID().slice(0, 6)}`,
    files: opts.files ?? { 'package.json': '{"dependencies":{"express":"^4"}}\n' },
  });
  const dev = gl.addUser({ username: `dev${projectCounter}`, name: 'Dee Veloper' });
  const reporter = gl.addUser({ username: `rep${projectCounter}` });
  const guest = gl.addUser({ username: `guest${projectCounter}` });
  project.addMember(dev.id, 30);
  project.addMember(reporter.id, 20);
  project.addMember(guest.id, 10);
  project.commit('feature', { 'src/index.js': 'console.log(1)\n' }, { from: 'main', message: 'feature work' });
  const mr = project.addMergeRequest({ sourceBranch: 'feature' });
  const generator = new TestGenerator();
  const learner = new TestLearner();
  const log = new TestLog();
  const gitlab = createGitLab({ url: gl.url, token: gl.token, timeoutMs: 5000 });
  const deps: CommandHandlerDeps = {
    db: store.db,
    gitlab,
    generator,
    learner,
    config: defaultSettings(),
    log,
    botUser: cachedBotUser(gitlab),
  };
  let jobs = 0;
  const job = () => ({ id: `job-${++jobs}` });

  /** A comment as a user writes it: the note exists in GitLab, and its Note Hook payload. */
  const comment = (user: FakeUser, text: string, extra: { action?: string; internal?: boolean; iid?: number } = {}) => {
    const iid = extra.iid ?? mr.iid;
    const note = project.addNote(iid, user.id, text);
    // As the webhook route stores it: `{ hook }`
    return { note, payload: { hook: notePayload(project, iid, user, note.id, note.discussionId, text, extra) } };
  };
  const botNotes = (iid = mr.iid) => project.notes(iid).filter((n) => n.authorId === gl.bot.id);
  const branchCommits = () => project.history('feature');
  return {
    project,
    mr,
    dev,
    reporter,
    guest,
    generator,
    learner,
    log,
    deps,
    job,
    comment,
    botNotes,
    branchCommits,
    gitlab,
  };
}

export function notePayload(
  project: FakeProject,
  iid: number,
  user: FakeUser,
  noteId: number,
  discussionId: string,
  text: string,
  extra: { action?: string; internal?: boolean } = {},
): Payload {
  const p = load('note_on_mr.json');
  const mr = project.mergeRequests.get(iid);
  p.user = { ...p.user, id: user.id, username: user.username, name: user.name };
  p.project_id = project.id;
  p.project = {
    ...p.project,
    id: project.id,
    path_with_namespace: project.path,
    web_url: project.webUrl,
    ci_config_path: null,
  };
  Object.assign(p.object_attributes, {
    id: noteId,
    note: text,
    description: text,
    author_id: user.id,
    project_id: project.id,
    discussion_id: discussionId,
    action: extra.action ?? 'create',
    internal: extra.internal ?? false,
    url: `${project.webUrl}/-/merge_requests/${iid}#note_${noteId}`,
  });
  Object.assign(p.merge_request, {
    iid,
    source_branch: mr?.sourceBranch ?? 'feature',
    target_branch: mr?.targetBranch ?? 'main',
    source_project_id: mr?.sourceProjectId ?? project.id,
    target_project_id: project.id,
    state: mr?.state ?? 'opened',
  });
  return p;
}

export function emojiPayload(
  project: FakeProject,
  iid: number,
  user: FakeUser,
  noteId: number,
  name: string,
  action: 'award' | 'revoke',
  awardId: number,
): Payload {
  const p = load('emoji_award.json');
  p.event_type = action;
  p.user = { ...p.user, id: user.id, username: user.username };
  p.project_id = project.id;
  p.project = { ...p.project, id: project.id, path_with_namespace: project.path };
  Object.assign(p.object_attributes, {
    id: awardId,
    user_id: user.id,
    name,
    action,
    awardable_type: 'Note',
    awardable_id: noteId,
  });
  Object.assign(p.note, { id: noteId, project_id: project.id });
  Object.assign(p.merge_request, { iid, source_project_id: project.id, target_project_id: project.id });
  return p;
}

/** A Pipeline Hook for a pipeline in the fake, through the payload schema, as the pipeline handler sees it. */
export function pipelineRun(
  project: FakeProject,
  pipeline: { id: number; sha: string; ref: string; status: string },
  builds: Array<{ name: string; stage: string; status: string; failure_reason?: string | null }>,
): PipelineRunView {
  const p = load(pipeline.status === 'failed' ? 'pipeline_failed.json' : 'pipeline_success.json');
  p.project = { ...p.project, id: project.id, path_with_namespace: project.path };
  Object.assign(p.object_attributes, {
    id: pipeline.id,
    sha: pipeline.sha,
    ref: pipeline.ref,
    status: pipeline.status,
  });
  p.builds = builds.map((b, i) => ({ ...p.builds[0], id: 9000 + i, ...b, failure_reason: b.failure_reason ?? null }));
  return pipelineRunFromHook(pipelineHookSchema.parse(p));
}
