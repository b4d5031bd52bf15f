import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { UserFacingError } from './errors.js';
import { POLICY_NAMES, type PolicyName } from './learning/policies.js';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number) => z.coerce.number().int().min(min);
const num = z.coerce.number().finite();
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const url = z.string().trim().url();
/** `llama3.1:8b`, `nomic-embed-text`, `registry.example/ns/model:tag` */
const OLLAMA_MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/;
export const DEFAULT_OLLAMA_MODEL = 'llama3.1:8b';

/**
 * Every setting the service reads. Standard names from DESIGN.md; everything else is PIPELINE_LEARNER_*.
 * The README's configuration table mirrors this list.
 */
const schema = z.object({
  PORT: int(0).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  CHROMA_URL: url.optional(),
  GITLAB_URL: url.optional(),
  GITLAB_TOKEN: z.string().optional(),
  GITLAB_WEBHOOK_SECRET: z.string().optional(),
  GITLAB_WEBHOOK_SIGNING_TOKEN: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>')
    .optional(),
  PUBLIC_URL: url.optional(),
  LEARN_COMPONENT: z.string().optional(),
  API_TOKEN: z.string().optional(),
  PUBLIC_READ: bool.default(false),
  RECONCILE_INTERVAL_S: int(0).default(300),
  OLLAMA_HOST: z
    .string()
    .trim()
    // Ollama's own clients accept host[:port] without a scheme
    .transform((v) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`))
    .pipe(url)
    .optional(),
  OLLAMA_MODEL: z
    .string()
    .trim()
    .regex(OLLAMA_MODEL_NAME, 'must be an Ollama model name such as llama3.1:8b')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  PIPELINE_LEARNER_PAYLOAD_RETENTION_DAYS: int(0).default(30),
  PIPELINE_LEARNER_MAX_BODY_BYTES: int(1).default(25 * 1024 * 1024),
  PIPELINE_LEARNER_SIGNATURE_TOLERANCE_S: int(1).default(300),
  PIPELINE_LEARNER_WORKER_CONCURRENCY: int(1).default(32),
  PIPELINE_LEARNER_JOB_MAX_ATTEMPTS: int(1).default(8),
  PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS: int(1).default(2000),
  PIPELINE_LEARNER_JOB_BACKOFF_MAX_MS: int(1).default(15 * 60 * 1000),
  PIPELINE_LEARNER_JOB_POLL_MS: int(10).default(500),
  PIPELINE_LEARNER_JOB_LEASE_MS: int(1000).default(60_000),
  PIPELINE_LEARNER_GITLAB_TIMEOUT_MS: int(100).default(10_000),
  // the call budget shared by every worker on the database (GitLab.com allows 2,000/min); 0 = no limiter
  PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN: int(0).default(2000),
  PIPELINE_LEARNER_GITLAB_MAX_WAIT_S: int(0).default(10),
  PIPELINE_LEARNER_RECONCILE_LOOKBACK_H: int(1).default(24),
  PIPELINE_LEARNER_DRAIN_TIMEOUT_S: int(1).default(30),
  PIPELINE_LEARNER_SPOOL_DIR: z.string().trim().min(1).optional(),
  // GitLab waits 10 s for an answer; the spool's fsync needs some of it
  PIPELINE_LEARNER_INTAKE_TIMEOUT_MS: int(100)
    .max(8000, 'must leave GitLab’s 10 s room for the spool: at most 8000')
    .default(5000),
  PIPELINE_LEARNER_DB_QUERY_TIMEOUT_MS: int(1000).default(30_000),
  PIPELINE_LEARNER_METRICS_PORT: int(0).optional(),
  PIPELINE_LEARNER_METRICS_HOST: z.string().default('127.0.0.1'),
  PIPELINE_LEARNER_METRICS_MAX_CONTEXTS: int(0).default(50),
  PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S: int(0).default(15),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_SERVICE_NAME: z.string().optional(),

  PIPELINE_LEARNER_POLICY: z.enum(POLICY_NAMES as [PolicyName, ...PolicyName[]]).default('thompson'),
  PIPELINE_LEARNER_HALF_LIFE_RUNS: num.positive().default(1000),
  PIPELINE_LEARNER_BROKEN_AFTER_FAILURES: int(1).default(3),
  PIPELINE_LEARNER_GATE_MIN_RUNS: int(0).default(3),
  PIPELINE_LEARNER_GATE_MIN_MEAN: num.min(0).max(1).default(0.7),
  PIPELINE_LEARNER_SHARE_ACROSS_TENANTS: bool.default(false),
  PIPELINE_LEARNER_FEEDBACK_WEIGHT: num.min(0).default(0.5),

  PIPELINE_LEARNER_ALLOWLIST: list.default([]),
  PIPELINE_LEARNER_DRY_RUN: bool.default(false),
  PIPELINE_LEARNER_APPROVE_LEVEL: int(0).default(30),
  PIPELINE_LEARNER_READ_LEVEL: int(0).default(20),
  PIPELINE_LEARNER_RATE_USER_PER_HOUR: int(1).default(30),
  PIPELINE_LEARNER_RATE_MR_PER_HOUR: int(1).default(60),
  PIPELINE_LEARNER_COMMIT_AUTHOR_NAME: z.string().default('pipeline-learner'),
  PIPELINE_LEARNER_COMMIT_AUTHOR_EMAIL: z.string().default('pipeline-learner@noreply.invalid'),

  PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: z
    .string()
    .trim()
    .regex(OLLAMA_MODEL_NAME, 'must be an Ollama model name such as nomic-embed-text')
    .optional(),
  PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS: int(100).default(120_000),
  PIPELINE_LEARNER_LLM_REPAIR_ROUNDS: int(0).max(10).default(2),
  PIPELINE_LEARNER_ALLOWED_REGISTRIES: list.default([]),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  chromaUrl: string | null;
  gitlab: {
    url: string;
    token: string;
    timeoutMs: number;
    /** calls per minute for all workers together; 0 = no client-side limit */
    rateLimitPerMin: number;
    /** a call waits at most this long for the budget; beyond it the job is retried with backoff */
    maxWaitS: number;
  } | null;
  webhook: {
    secret: string | null;
    signingToken: string | null;
    toleranceS: number;
    maxBodyBytes: number;
    retentionDays: number;
  };
  publicUrl: string | null;
  learnComponent: string | null;
  apiToken: string | null;
  publicRead: boolean;
  reconcileIntervalS: number;
  reconcileLookbackH: number;
  /** a separate /metrics listener (no auth; loopback unless told otherwise); null = /metrics on the main port */
  metrics: {
    port: number | null;
    host: string;
    maxContexts: number;
    /** scrape-time database figures older than this are refreshed (in the background once there are some); 0 = every scrape */
    dbMaxAgeS: number;
  };
  /** OpenTelemetry traces (off unless OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT is set) */
  tracing: { endpoint: string; tracesEndpoint: string | null; serviceName: string | null } | null;
  /** how long SIGTERM (or the parent going away) waits for running jobs before exiting anyway */
  drainTimeoutS: number;
  intake: {
    /** where deliveries wait while the database is unavailable */
    spoolDir: string;
    /** a database write slower than this goes to the spool */
    writeTimeoutMs: number;
  };
  /** PostgreSQL: a statement slower than this fails and the connection pool is reopened */
  dbQueryTimeoutMs: number;
  /** OLLAMA_HOST alone turns the LLM on; null = no model is ever asked */
  ollama: {
    host: string;
    model: string;
    /** null → embeddings by feature hashing (src/vectors/embed.ts) */
    embedModel: string | null;
    timeoutMs: number;
  } | null;
  llm: {
    /** validation errors fed back to the model at most this many times */
    repairRounds: number;
    /** registries images may come from, besides Docker Hub official images and the base configuration's */
    allowedRegistries: string[];
  };
  logLevel: Env['LOG_LEVEL'];
  jobs: {
    concurrency: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    pollMs: number;
    leaseMs: number;
  };
  learner: {
    policy: Env['PIPELINE_LEARNER_POLICY'];
    halfLifeRuns: number;
    brokenAfterFailures: number;
    gateMinRuns: number;
    gateMinMean: number;
    shareAcrossTenants: boolean;
    feedbackWeight: number;
  };
  bot: {
    allowlist: string[];
    dryRun: boolean;
    approveLevel: number;
    readLevel: number;
    ratePerUserPerHour: number;
    ratePerMrPerHour: number;
    commitAuthorName: string;
    commitAuthorEmail: string;
    /** PUBLIC_URL: replies to `/pipeline stats` and `best` link the stack's dashboard page when set */
    publicUrl?: string | null;
  };
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME?.trim();
  return join(xdg ? xdg : join(homedir(), '.local', 'share'), 'pipeline-learner');
}

/** Reads the environment once; every problem is reported together, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new UserFacingError(`invalid configuration:\n${lines.join('\n')}`, { exitCode: 2 });
  }
  const e = parsed.data;
  if ((e.GITLAB_URL && !e.GITLAB_TOKEN) || (!e.GITLAB_URL && e.GITLAB_TOKEN)) {
    throw new UserFacingError('invalid configuration:\n  GITLAB_URL and GITLAB_TOKEN must be set together', {
      exitCode: 2,
    });
  }
  const withoutHost = (['OLLAMA_MODEL', 'PIPELINE_LEARNER_OLLAMA_EMBED_MODEL'] as const).filter(
    (k) => e[k] !== undefined && !e.OLLAMA_HOST,
  );
  if (withoutHost.length > 0) {
    throw new UserFacingError(
      `invalid configuration:\n${withoutHost.map((k) => `  ${k}: has no effect without OLLAMA_HOST (set it, e.g. http://localhost:11434, to use Ollama)`).join('\n')}`,
      { exitCode: 2 },
    );
  }
  const dataDir = e.DATA_DIR ?? defaultDataDir(env);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? null,
    chromaUrl: e.CHROMA_URL ?? null,
    gitlab:
      e.GITLAB_URL && e.GITLAB_TOKEN
        ? {
            url: e.GITLAB_URL.replace(/\/+$/, ''),
            token: e.GITLAB_TOKEN,
            timeoutMs: e.PIPELINE_LEARNER_GITLAB_TIMEOUT_MS,
            rateLimitPerMin: e.PIPELINE_LEARNER_GITLAB_RATE_LIMIT_PER_MIN,
            maxWaitS: e.PIPELINE_LEARNER_GITLAB_MAX_WAIT_S,
          }
        : null,
    webhook: {
      secret: e.GITLAB_WEBHOOK_SECRET ?? null,
      signingToken: e.GITLAB_WEBHOOK_SIGNING_TOKEN ?? null,
      toleranceS: e.PIPELINE_LEARNER_SIGNATURE_TOLERANCE_S,
      maxBodyBytes: e.PIPELINE_LEARNER_MAX_BODY_BYTES,
      retentionDays: e.PIPELINE_LEARNER_PAYLOAD_RETENTION_DAYS,
    },
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    learnComponent: e.LEARN_COMPONENT ?? null,
    apiToken: e.API_TOKEN ?? null,
    publicRead: e.PUBLIC_READ,
    reconcileIntervalS: e.RECONCILE_INTERVAL_S,
    reconcileLookbackH: e.PIPELINE_LEARNER_RECONCILE_LOOKBACK_H,
    drainTimeoutS: e.PIPELINE_LEARNER_DRAIN_TIMEOUT_S,
    intake: {
      spoolDir: e.PIPELINE_LEARNER_SPOOL_DIR ?? join(dataDir, 'spool'),
      writeTimeoutMs: e.PIPELINE_LEARNER_INTAKE_TIMEOUT_MS,
    },
    dbQueryTimeoutMs: e.PIPELINE_LEARNER_DB_QUERY_TIMEOUT_MS,
    ollama: e.OLLAMA_HOST
      ? {
          host: e.OLLAMA_HOST.replace(/\/+$/, ''),
          model: e.OLLAMA_MODEL ?? DEFAULT_OLLAMA_MODEL,
          embedModel: e.PIPELINE_LEARNER_OLLAMA_EMBED_MODEL ?? null,
          timeoutMs: e.PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS,
        }
      : null,
    llm: {
      repairRounds: e.PIPELINE_LEARNER_LLM_REPAIR_ROUNDS,
      allowedRegistries: e.PIPELINE_LEARNER_ALLOWED_REGISTRIES,
    },
    metrics: {
      port: e.PIPELINE_LEARNER_METRICS_PORT ?? null,
      host: e.PIPELINE_LEARNER_METRICS_HOST,
      maxContexts: e.PIPELINE_LEARNER_METRICS_MAX_CONTEXTS,
      dbMaxAgeS: e.PIPELINE_LEARNER_METRICS_DB_MAX_AGE_S,
    },
    tracing:
      e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        ? {
            endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? '',
            tracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? null,
            serviceName: e.OTEL_SERVICE_NAME?.trim() || null,
          }
        : null,
    logLevel: e.LOG_LEVEL,
    jobs: {
      concurrency: e.PIPELINE_LEARNER_WORKER_CONCURRENCY,
      maxAttempts: e.PIPELINE_LEARNER_JOB_MAX_ATTEMPTS,
      backoffBaseMs: e.PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS,
      backoffMaxMs: e.PIPELINE_LEARNER_JOB_BACKOFF_MAX_MS,
      pollMs: e.PIPELINE_LEARNER_JOB_POLL_MS,
      leaseMs: e.PIPELINE_LEARNER_JOB_LEASE_MS,
    },
    learner: {
      policy: e.PIPELINE_LEARNER_POLICY,
      halfLifeRuns: e.PIPELINE_LEARNER_HALF_LIFE_RUNS,
      brokenAfterFailures: e.PIPELINE_LEARNER_BROKEN_AFTER_FAILURES,
      gateMinRuns: e.PIPELINE_LEARNER_GATE_MIN_RUNS,
      gateMinMean: e.PIPELINE_LEARNER_GATE_MIN_MEAN,
      shareAcrossTenants: e.PIPELINE_LEARNER_SHARE_ACROSS_TENANTS,
      feedbackWeight: e.PIPELINE_LEARNER_FEEDBACK_WEIGHT,
    },
    bot: {
      allowlist: e.PIPELINE_LEARNER_ALLOWLIST,
      dryRun: e.PIPELINE_LEARNER_DRY_RUN,
      approveLevel: e.PIPELINE_LEARNER_APPROVE_LEVEL,
      readLevel: e.PIPELINE_LEARNER_READ_LEVEL,
      ratePerUserPerHour: e.PIPELINE_LEARNER_RATE_USER_PER_HOUR,
      ratePerMrPerHour: e.PIPELINE_LEARNER_RATE_MR_PER_HOUR,
      commitAuthorName: e.PIPELINE_LEARNER_COMMIT_AUTHOR_NAME,
      commitAuthorEmail: e.PIPELINE_LEARNER_COMMIT_AUTHOR_EMAIL,
      publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    },
  };
}
