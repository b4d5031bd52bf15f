import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve as serveHttp } from '@hono/node-server';
import type { Hono } from 'hono';
import { learnedSource, VectorTemplateStore } from './candidateSources.js';
import { toGeneratedPipeline, toLearnerPort } from './commands/adapters.js';
import type { AssistantPort, CommandDeps, ProposalGenerator } from './commands/CommandDeps.js';
import { restCommit, restStatus } from './commands/restOperations.js';
import type { Config } from './config.js';
import { createCallBudget } from './db/callBudget.js';
import { chatStoreFor } from './db/chatStore.js';
import { commandStoreFor } from './db/commandStore.js';
import { releaseAllRunning } from './db/jobQueue.js';
import { createLearningStore } from './db/learningStore.js';
import { metricsSource } from './db/metricsQueries.js';
import { databaseReady, embeddedStoreExists, migrateToLatest, openDatabase, type Store } from './db/openDatabase.js';
import { repositoryFactsStore } from './db/repositoryFacts.js';
import { ensureSetting } from './db/settings.js';
import { UserFacingError } from './errors.js';
import { analyzeRepository } from './generation/analyzeRepository.js';
import type { LearnStageOptions } from './generation/ensureLearnStage.js';
import { generateForProject } from './generation/generateForProject.js';
import { type GenerateDeps, toGenerationJson } from './generation/generatePipeline.js';
import type { CallLimiter } from './gitlab/callBudget.js';
import { createGitLab, normaliseBaseUrl } from './gitlab/GitbeakerGitLab.js';
import type { GitLab } from './gitlab/GitLab.js';
import { chatRoutes } from './http/chatRoutes.js';
import { createApp } from './http/createApp.js';
import { dashboardRoutes } from './http/dashboardRoutes.js';
import { type DeliverySpool, openDeliverySpool } from './http/deliverySpool.js';
import { createIntakeBatcher } from './http/intakeBatcher.js';
import { metricsRoute } from './http/metricsRoute.js';
import { type GenerateRequest, pipelineRoutes } from './http/pipelineRoutes.js';
import { reportRoutes } from './http/reportRoutes.js';
import { emojiEventJobHandler } from './jobs/handlers/emojiEvent.js';
import { learnRecord } from './jobs/handlers/learnRecord.js';
import { type CommandHandlerDeps, cachedBotUser, noteEventJobHandler } from './jobs/handlers/noteEvent.js';
import { pipelineEventHandler } from './jobs/handlers/pipelineEvent.js';
import { handleProposalOutcome } from './jobs/handlers/proposalOutcome.js';
import { purgeExpired } from './jobs/handlers/purgeExpired.js';
import { reconcileOnce } from './jobs/handlers/reconcile.js';
import type { BudgetObserver, DetectStack, RecordDeps, RunObserver } from './jobs/handlers/recordPipeline.js';
import { createIntakePressure } from './jobs/intakePressure.js';
import { createWorker, type JobHandlers, type Worker } from './jobs/Worker.js';
import { tenantOf } from './learning/Chooser.js';
import { Learner } from './learning/Learner.js';
import { learnerOptionsFrom } from './learning/LearnerOptions.js';
import type { Llm } from './llm/Llm.js';
import { buildAssistant, buildLlmWiring, checkLlmAtStartup, type LlmWiring } from './llmWiring.js';
import { createLogger, type Logger } from './log.js';
import { instrumentGitLab, instrumentHandlers, traceHandlers } from './metrics/instrument.js';
import { learningReports, serviceReport } from './metrics/learningReport.js';
import { type MetricsSnapshot, ServiceMetrics } from './metrics/ServiceMetrics.js';
import { traceMethods } from './metrics/spans.js';
import { createVectorIndex } from './vectors/createVectorIndex.js';
import type { VectorIndex } from './vectors/VectorIndex.js';
import { EMOJI_EVENT, NOTE_EVENT, PIPELINE_EVENT, type PipelineSnapshot } from './webhooks/events.js';

export const WEBHOOK_SECRET_SETTING = 'webhook_secret';
const WEBHOOK_EVENTS = ['Pipeline events', 'Comments', 'Emoji events'] as const;
const PURGE_EVERY_MS = 3600_000;

/** intake counts as quiet (a worker in the HTTP process stops yielding to it) after no delivery for this long */
const INTAKE_QUIET_MS = 200;

/** What the composition root builds itself unless given (tests pass a fake GitLab, an embedded vector index). */

export interface ServiceParts {
  log?: Logger;
  gitlab?: GitLab | null;
  vectors?: VectorIndex;
  /** replaces the Ollama client built from OLLAMA_HOST (null: no LLM) */
  llm?: Llm | null;
  /** false: nothing is counted or timed and /metrics is not served (bench:observability's baseline) */
  metrics?: false;
  /** where the startup banner goes (stdout for `serve`) */
  print?: (text: string) => void;
  /**
   * `all` (default): one process does everything. With `serve --workers N` on PostgreSQL the parent
   * is `intake` (HTTP, reconciler, retention; no job worker, `onWake` tells the worker processes)
   * and each child is `worker` (the job worker only, no listener).
   */
  role?: 'all' | 'intake' | 'worker';
  /** called when jobs were enqueued (role `intake`: wakes the worker processes) */
  onWake?: () => void;
  /** role `intake`: the worker processes' metrics, merged into every /metrics scrape */
  peerMetrics?: () => Promise<MetricsSnapshot[]>;
}

export interface Service {
  url: string;
  port: number;
  store: Store;
  worker: Worker;
  app: Hono;
  /** the separate metrics listener's port (PIPELINE_LEARNER_METRICS_PORT), null when /metrics is on `port` */
  metricsPort: number | null;
  /** the X-Gitlab-Token in force (configured or generated), null with signatures only */
  webhookSecret: string | null;
  /** reconcile now (also runs on its timer); false when another replica holds the lease */
  reconcile(): Promise<boolean>;
  /** this process's metrics (a worker process sends them to the intake process's /metrics); [] when off */
  metricsSnapshot(): Promise<MetricsSnapshot>;
  /** SIGTERM semantics: stop accepting, finish running jobs, close the store */
  stop(): Promise<void>;
}

/** Secrets that must never reach a log line. */
function configSecrets(config: Config, extra: Array<string | null> = []): string[] {
  return [
    config.gitlab?.token ?? null,
    config.webhook.secret,
    config.webhook.signingToken,
    config.apiToken,
    ...extra,
  ].filter((s): s is string => !!s);
}

export const defaultDetect: DetectStack = async (repo) => {
  const a = await analyzeRepository(repo);
  return { language: a.language, framework: a.framework };
};

/** The learning and generation domain on a store: the learner, the candidate sources, the learn stage. */
export interface Domain {
  learner: Learner;
  vectors: VectorIndex;
  templates: VectorTemplateStore;
  generateDeps: Omit<GenerateDeps, 'lint'>;
  /** the local LLM (OLLAMA_HOST); its arm is generateDeps.llm */
  llm: LlmWiring;
}

function learnStageOptions(config: Config): LearnStageOptions {
  return { component: config.learnComponent, serviceUrl: config.publicUrl };
}

function buildDomain(config: Config, store: Store, vectors: VectorIndex, options: { llm?: Llm | null } = {}): Domain {
  const learner = new Learner({
    store: createLearningStore(store.db),
    options: learnerOptionsFrom(config.learner),
    defaultPolicy: config.learner.policy,
  });
  const templates = new VectorTemplateStore(vectors);
  const llm = buildLlmWiring(config, learner, { vectors, ...(options.llm !== undefined ? { llm: options.llm } : {}) });
  return {
    learner,
    vectors,
    templates,
    llm,
    generateDeps: {
      llm: llm.armSource,
      learned: learnedSource(store.db, { shareAcrossTenants: config.learner.shareAcrossTenants }),
      templates,
      chooser: learner,
      learnStage: learnStageOptions(config),
    },
  };
}

/** A read-only command found no store it may use as it is (none yet, or one with migrations pending). */
export class StoreUnavailableError extends UserFacingError {}

/**
 * Opens the store and the domain on it for one CLI command, and closes it afterwards. Migrated,
 * unless `readOnly`: then nothing is created or migrated, and a store that does not exist yet or is
 * not at the latest migration raises StoreUnavailableError.
 */
export async function withDomain<T>(
  config: Config,
  command: string,
  fn: (domain: Domain, store: Store) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  if (options.readOnly && !config.databaseUrl && !embeddedStoreExists(config.dataDir))
    throw new StoreUnavailableError(`no store in ${config.dataDir} yet`);
  const store = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command });
  try {
    if (!options.readOnly) await migrateToLatest(store.db);
    else if (!(await databaseReady(store.db)))
      throw new StoreUnavailableError(`the store (${store.description}) needs \`pipeline-learner migrate\``);
    return await fn(buildDomain(config, store, buildVectors(config, store)), store);
  } finally {
    await store.close();
  }
}

/** The webhook path hands every terminal run with a configuration to the learner. */
function learnerObserver(learner: Learner): RunObserver {
  return {
    async observeRun(run) {
      if (!run.configHash) return;
      if (run.status !== 'success' && run.status !== 'failed' && run.status !== 'canceled') return;
      await learner.observeRun({ ...run, configHash: run.configHash, status: run.status });
    },
  };
}

function proposalGenerator(gitlab: GitLab, domain: Domain): ProposalGenerator {
  return {
    async proposePipeline(req) {
      const tenant = tenantOf(req.project.path);
      const g = await generateForProject(
        gitlab,
        { project: req.project.id, ref: req.sha ?? req.ref, tenant, overrides: req.overrides, llm: req.llm },
        domain.generateDeps,
      );
      const arms = await domain.learner.arms({ tenant, language: g.language, framework: g.framework });
      return toGeneratedPipeline(
        g,
        arms.find((a) => a.hash === g.hash),
      );
    },
  };
}

/**
 * Resolves the X-Gitlab-Token: the configured one, else one generated on first start and kept in
 * the store (so the endpoint is never open), else none when only signatures are configured.
 */
export async function resolveWebhookSecret(
  config: Config,
  store: Store,
): Promise<{ secret: string | null; generated: boolean; fromStore: boolean }> {
  if (config.webhook.secret) return { secret: config.webhook.secret, generated: false, fromStore: false };
  if (config.webhook.signingToken) return { secret: null, generated: false, fromStore: false };
  const { value, created } = await ensureSetting(store.db, WEBHOOK_SECRET_SETTING, () =>
    randomBytes(32).toString('base64url'),
  );
  return { secret: value, generated: created, fromStore: true };
}

export function webhookBanner(
  url: string,
  secret: { secret: string | null; generated: boolean; fromStore: boolean },
): string {
  const lines = [
    `pipeline-learner listening on ${url}`,
    '',
    'GitLab webhook (project or group → Settings → Webhooks):',
  ];
  lines.push(`  URL:           ${url}/webhooks/gitlab`);
  if (secret.fromStore) {
    lines.push(
      secret.generated
        ? `  Secret token:  ${secret.secret}   (generated now and kept in the store; set GITLAB_WEBHOOK_SECRET to choose your own)`
        : '  Secret token:  the one generated on first start (run `pipeline-learner serve --print-webhook-secret` to see it)',
    );
  } else if (secret.secret) lines.push('  Secret token:  the value of GITLAB_WEBHOOK_SECRET');
  else lines.push('  Signing token: the value of GITLAB_WEBHOOK_SIGNING_TOKEN');
  lines.push(`  Trigger:       ${WEBHOOK_EVENTS.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function restOperations(d: CommandHandlerDeps, gitlab: GitLab, domain: Domain) {
  const deps: CommandDeps = {
    gitlab,
    store: commandStoreFor(d.db),
    generator: d.generator,
    learner: d.learner,
    clock: () => new Date(),
    config: d.config,
  };
  return {
    async generate(input: GenerateRequest) {
      const project = await gitlab.project(input.project);
      const ref = input.ref ?? project.default_branch ?? 'HEAD';
      const g = await generateForProject(
        gitlab,
        {
          project: project.id,
          ref,
          tenant: tenantOf(project.path_with_namespace),
          overrides: { language: input.language, framework: input.framework, policy: input.policy },
          ...(input.llm ? { llm: true } : {}),
        },
        domain.generateDeps,
      );
      return toGenerationJson(g);
    },
    commit: (input: Parameters<typeof restCommit>[0]) => restCommit(input, deps),
    status: (input: Parameters<typeof restStatus>[0]) => restStatus(input, deps),
  };
}

function buildVectors(config: Config, store: Store): VectorIndex {
  return createVectorIndex(config.chromaUrl, store.db).index;
}

/**
 * The delivery spool in its directory, or null when another process holds it (that process keeps
 * its own deliveries safe; this one then answers 503 during an outage) or it cannot be created.
 */
function openSpool(dir: string, log: Logger): DeliverySpool | null {
  try {
    return openDeliverySpool(dir, log);
  } catch (err) {
    log.warn({ err, dir }, 'no delivery spool: during a database outage webhooks will be answered 503');
    return null;
  }
}

/**
 * postgres.js throws some of its faults from timer callbacks, out of reach of any await (a write to a
 * connection that closed meanwhile: porsager/postgres#1154). Such a fault must not end the process:
 * it is logged and the pool reopened. Every other uncaught exception still ends it, as Node would.
 */
function guardDriverFaults(store: Store, log: Logger): () => void {
  const onUncaught = (err: Error) => {
    if (/node_modules[\\/]postgres[\\/]/.test(err?.stack ?? '')) {
      log.error({ err }, 'PostgreSQL driver fault outside any statement; connections reopened');
      store.resetConnections?.('driver fault');
      return;
    }
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  };
  process.on('uncaughtException', onUncaught);
  return () => process.off('uncaughtException', onUncaught);
}

/**
 * The GitLab call budget shared by every worker on the store (issue 10 item 3): a token bucket per GitLab
 * instance in the database, null when PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN is 0 or GitLab is unset.
 */
export function gitlabCallBudget(config: Config, store: Store, metrics?: ServiceMetrics): CallLimiter | null {
  if (!config.gitlab || config.gitlab.rateLimitPerMin <= 0) return null;
  return createCallBudget(store.db, {
    instance: normaliseBaseUrl(config.gitlab.url),
    perMinute: config.gitlab.rateLimitPerMin,
    maxWaitMs: config.gitlab.maxWaitS * 1000,
    onTake: (permit) => {
      metrics?.gitlabBudgetRemaining.set(permit.remaining);
      if (permit.waitMs > 0) metrics?.gitlabBudgetWaitSeconds.inc(permit.waitMs / 1000);
    },
  });
}

function budgetObserver(metrics: ServiceMetrics, limiter: CallLimiter | null): BudgetObserver {
  return {
    observe({ facts, calls }) {
      metrics.gitlabCallsPerPipeline.observe({ part: 'facts' }, facts.calls);
      metrics.gitlabCallsPerPipeline.observe({ part: 'total' }, calls);
    },
    remaining: () => limiter?.remaining() ?? null,
  };
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}

/**
 * Opens the store, migrates, and starts HTTP + worker + reconciler + retention purge. The only
 * place real clients are built (when `parts` does not provide them).
 */
export async function startService(config: Config, parts: ServiceParts = {}): Promise<Service> {
  const log = parts.log ?? createLogger({ level: config.logLevel, secrets: configSecrets(config) });
  const store = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    command: 'serve',
    asyncCommit: parts.role === 'worker',
  });
  try {
    return await startOnStore(config, store, { ...parts, log });
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The job handlers, and the dependencies the HTTP routes share with them (null without GitLab). */
function jobHandlers(
  config: Config,
  store: Store,
  domain: Domain,
  gitlab: GitLab | null,
  vectors: VectorIndex,
  log: Logger,
  assistant: AssistantPort | null,
  budget: BudgetObserver,
  secretValues: readonly string[],
): { handlers: JobHandlers; commandDeps: CommandHandlerDeps | null; recordDeps: RecordDeps | null } {
  if (!gitlab) {
    log.warn('GITLAB_URL/GITLAB_TOKEN unset: webhook events are accepted and stay queued until GitLab is configured');
    return { handlers: {}, commandDeps: null, recordDeps: null };
  }
  const commandDeps: CommandHandlerDeps = {
    db: store.db,
    gitlab,
    generator: proposalGenerator(gitlab, domain),
    learner: toLearnerPort(domain.learner),
    config: config.bot,
    log,
    botUser: cachedBotUser(gitlab),
    assistant,
    secretValues,
  };
  const recordDeps: RecordDeps = {
    db: store.db,
    gitlab,
    vectors,
    detect: defaultDetect,
    learner: learnerObserver(domain.learner),
    log,
    facts: repositoryFactsStore(store.db),
    budget,
  };
  const proposalOutcome = async (s: PipelineSnapshot, _ctx: unknown, recorded: { proposalCommit: boolean }) => {
    // the run's record said whether a proposal names this commit: most pipelines need no lookup
    if (!recorded.proposalCommit) return;
    await handleProposalOutcome(
      {
        projectId: s.projectId,
        pipelineId: s.pipelineId,
        sha: s.sha,
        status: s.status,
        webUrl: s.webUrl ?? null,
        builds: s.jobs.map((j) => ({ ...j, id: j.id ?? undefined })),
      },
      commandDeps,
    );
  };
  const handlers: JobHandlers = {
    [PIPELINE_EVENT]: pipelineEventHandler(recordDeps, proposalOutcome),
    [NOTE_EVENT]: noteEventJobHandler(commandDeps),
    [EMOJI_EVENT]: emojiEventJobHandler(commandDeps),
  };
  return { handlers, commandDeps, recordDeps };
}

function listen(fetch: Hono['fetch'], port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve) => {
    const s = serveHttp({ fetch, port, hostname }, () => resolve(s));
  });
}

/** Runs `task` every `everyMs` (first after `firstMs`), never two passes at once (a slow GitLab, an outage). */
function every(task: () => Promise<unknown>, everyMs: number, firstMs: number, timers: NodeJS.Timeout[]): void {
  let passing = false;
  const pass = () => {
    if (passing) return;
    passing = true;
    task().finally(() => {
      passing = false;
    });
  };
  timers.push(setInterval(pass, everyMs).unref(), setTimeout(pass, firstMs).unref());
}

/** The reconciler (when GitLab is configured) and the hourly retention purge, on their timers. */
function startBackground(
  config: Config,
  store: Store,
  gitlab: GitLab | null,
  holder: string,
  wake: () => void,
  log: Logger,
): { reconcile: () => Promise<boolean>; timers: NodeJS.Timeout[] } {
  const reconcile = async () => {
    if (!gitlab) return false;
    const r = await reconcileOnce({
      db: store.db,
      gitlab,
      log,
      holder,
      lookbackH: config.reconcileLookbackH,
      maxAttempts: config.jobs.maxAttempts,
      leaseMs: Math.max(10_000, config.reconcileIntervalS * 1000),
    });
    if (r.enqueued) wake();
    return r.ran;
  };
  const timers: NodeJS.Timeout[] = [];
  if (gitlab && config.reconcileIntervalS > 0) {
    const intervalMs = config.reconcileIntervalS * 1000;
    // deliveries GitLab sent while this service was down are what the reconciler is for: look soon after start
    const pass = () =>
      reconcile().catch((err) => log.warn({ err }, 'reconcile pass failed; the next one runs on schedule'));
    every(pass, intervalMs, Math.min(10_000, intervalMs), timers);
  }
  const purge = () =>
    purgeExpired({ db: store.db, log, retentionDays: config.webhook.retentionDays }).catch((err) =>
      log.warn({ err }, 'retention purge failed'),
    );
  every(purge, PURGE_EVERY_MS, 0, timers);

  return { reconcile, timers };
}

export async function startOnStore(
  config: Config,
  store: Store,
  parts: ServiceParts & { log: Logger },
): Promise<Service> {
  const log = parts.log;
  await migrateToLatest(store.db);
  store.setQueryTimeout?.(config.dbQueryTimeoutMs);
  const secret = await resolveWebhookSecret(config, store);
  if (store.kind === 'pglite') {
    // the data-dir lock proves no other process runs these: a killed predecessor's jobs go again now
    const released = await releaseAllRunning(store.db);
    if (released) log.warn({ count: released }, 'jobs interrupted by the previous run are queued again');
  }
  // OpenTelemetry only when asked for: the SDK is not even loaded otherwise
  const tracing = config.tracing ? await (await import('./metrics/tracing.js')).startTracing(config.tracing) : null;
  const vectors = parts.vectors ?? buildVectors(config, store);
  const domain = buildDomain(config, store, vectors, parts.llm !== undefined ? { llm: parts.llm } : {});
  // the startup check says what works and exactly what to run when the model is missing; it never stops the start
  const llmCheck = await checkLlmAtStartup(config);
  if (llmCheck.ok) log.info({ llm: llmCheck.enabled }, llmCheck.message);
  else log.warn({ llm: true }, llmCheck.message);
  if (tracing) traceMethods(domain.learner, 'learner', ['choose', 'observeRun', 'attachReward', 'feedback']);
  const scrapeSource = metricsSource(store.db, domain.learner);
  const metricsOn = parts.metrics !== false;
  const metrics = new ServiceMetrics({
    // a worker process counts its own work only; the database figures come from the intake process
    source: parts.role === 'worker' ? undefined : scrapeSource,
    peers: parts.peerMetrics,
    maxContexts: config.metrics.maxContexts,
    dbMaxAgeMs: config.metrics.dbMaxAgeS * 1000,
  });
  const limiter = parts.gitlab === undefined ? gitlabCallBudget(config, store, metrics) : null;
  const reports = learningReports(store.db, domain.learner, { maxAgeMs: config.metrics.dbMaxAgeS * 1000 });
  const rawGitLab =
    parts.gitlab !== undefined
      ? parts.gitlab
      : config.gitlab
        ? createGitLab({
            url: config.gitlab.url,
            token: config.gitlab.token,
            timeoutMs: config.gitlab.timeoutMs,
            limiter: limiter ?? undefined,
          })
        : null;
  const gitlab = rawGitLab && (metricsOn ? instrumentGitLab(rawGitLab, metrics) : rawGitLab);
  domain.templates
    .seedBuiltIns()
    .then((n) => n && log.info({ count: n }, 'built-in templates written to pipeline_templates'))
    .catch((err) =>
      log.warn({ err }, 'could not seed pipeline_templates; generation falls back to the built-in defaults'),
    );
  const chats = chatStoreFor(store.db);
  const assistant =
    gitlab && domain.llm.llm
      ? buildAssistant({
          config: { llm: config.llm, bot: config.bot, learnStage: learnStageOptions(config) },
          llm: domain.llm.llm,
          gitlab,
          store: commandStoreFor(store.db),
          chats,
          generator: proposalGenerator(gitlab, domain),
          learner: toLearnerPort(domain.learner),
          secrets: configSecrets(config, [secret.secret]),
        })
      : null;
  const { handlers, commandDeps, recordDeps } = jobHandlers(
    config,
    store,
    domain,
    gitlab,
    vectors,
    log,
    assistant?.port ?? null,
    budgetObserver(metrics, limiter),
    configSecrets(config, [secret.secret]),
  );
  const role = parts.role ?? 'all';
  const pressure =
    role === 'all'
      ? createIntakePressure({ lastAcceptedAt: () => intake.lastAcceptedAt(), quietMs: INTAKE_QUIET_MS })
      : null;
  const worker = createWorker({
    db: store.db,
    handlers: traceHandlers(metricsOn ? instrumentHandlers(handlers, metrics) : handlers),
    log,
    concurrency: config.jobs.concurrency,
    pollMs: config.jobs.pollMs,
    leaseMs: config.jobs.leaseMs,
    backoffBaseMs: config.jobs.backoffBaseMs,
    backoffMaxMs: config.jobs.backoffMaxMs,
    secrets: configSecrets(config, [secret.secret]),
    // a worker sharing the HTTP thread yields to webhooks (worker processes need not)
    intake: pressure ? () => pressure.level() : undefined,
  });

  const wake = () => {
    worker.wake();
    parts.onWake?.();
  };

  // a worker process never takes deliveries: the spool is the intake process's
  const spool = role === 'worker' ? null : openSpool(config.intake.spoolDir, log);
  const intake = createIntakeBatcher(store.db, {
    maxInFlight: store.kind === 'pglite' ? 1 : 4,
    spool,
    writeTimeoutMs: config.intake.writeTimeoutMs,
    log,
    onReplayed: wake,
  });
  const unguard = store.kind === 'postgres' ? guardDriverFaults(store, log) : () => {};
  const readAuth = { apiToken: config.apiToken, publicRead: config.publicRead };
  const app = createApp({
    log,
    ready: () => databaseReady(store.db),
    metrics: metricsOn ? { metrics, route: config.metrics.port === null } : undefined,
    webhook: {
      db: store.db,
      log,
      secret: secret.secret,
      signingToken: config.webhook.signingToken,
      toleranceS: config.webhook.toleranceS,
      maxBodyBytes: config.webhook.maxBodyBytes,
      maxAttempts: config.jobs.maxAttempts,
      intake,
      onEnqueued: wake,
    },
    learn: {
      db: store.db,
      ...readAuth,
      gitlabUrl: config.gitlab?.url ?? null,
      record: recordDeps ? (req) => learnRecord(recordDeps, req) : null,
      rank: (contexts) => domain.learner.armsOfContexts(contexts),
    },
    extra: [
      reportRoutes(reports, readAuth),
      dashboardRoutes({
        reports,
        service: () => serviceReport(store.db, scrapeSource, metrics),
        ...readAuth,
        publicUrl: config.publicUrl,
      }),
      pipelineRoutes({
        apiToken: config.apiToken,
        operations: commandDeps && gitlab ? restOperations(commandDeps, gitlab, domain) : null,
      }),
      chatRoutes({
        apiToken: config.apiToken,
        log,
        chat:
          assistant && gitlab
            ? { assistant: assistant.assistant, chats, gitlab }
            : {
                unavailable: !domain.llm.llm
                  ? 'the chat needs the local LLM: set OLLAMA_HOST on the service (and pull the model, e.g. `ollama pull llama3.1:8b`)'
                  : 'GitLab is not configured on the service (GITLAB_URL, GITLAB_TOKEN)',
              },
      }),
    ],
  });

  const server = role === 'worker' ? null : await listen(app.fetch, config.port, config.host);
  const port = server ? (server.address() as AddressInfo).port : 0;
  const metricsServer =
    config.metrics.port === null || role === 'worker' || !metricsOn
      ? null
      : await listen(metricsRoute(metrics, { open: true }).fetch, config.metrics.port, config.metrics.host);
  if (metricsServer)
    log.info(
      { host: config.metrics.host, port: (metricsServer.address() as AddressInfo).port },
      'metrics listener (no auth) started',
    );
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = config.publicUrl ?? `http://${shownHost}:${port}`;
  if (role !== 'intake') worker.start();

  // a worker process leaves the reconciler and the retention purge to the intake process
  const { reconcile, timers } =
    role === 'worker'
      ? { reconcile: async () => false, timers: [] as NodeJS.Timeout[] }
      : startBackground(config, store, gitlab, worker.id, wake, log);

  if (role !== 'worker')
    parts.print?.(`${webhookBanner(url, secret)}
${llmCheck.message}
`);
  log.info({ port, store: store.kind, worker: worker.id, role }, 'service started');

  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    store,
    worker,
    app,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : null,
    webhookSecret: secret.secret,
    reconcile,
    metricsSnapshot: async () => (metricsOn ? metrics.registry.getMetricsAsJSON() : []),
    stop() {
      stopping ??= (async () => {
        for (const t of timers) clearTimeout(t);
        const closed = Promise.all([server && closeServer(server), metricsServer && closeServer(metricsServer)]);
        intake.close();
        pressure?.stop();
        await worker.drain();
        await closed;
        await spool?.close();
        await store.close();
        await tracing?.shutdown().catch((err) => log.warn({ err }, 'could not flush the last spans'));
        unguard();
        log.info('service stopped');
      })();
      return stopping;
    },
  };
}
